"""Helpers shared by the handler unit tests.

The functions' code is imported as at the root of a zip (``common``, ``book_flight.app``):
``functions/`` is on pytest's ``pythonpath`` and on mypy's ``mypy_path`` (pyproject.toml).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from common import aws, config
from moto import mock_aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


TABLE = "skybook-test"
BUS = "skybook-test-bus"
SENDER = "bookings@skybook.example"
REGION = "us-east-1"
FUNCTIONS_DIR = Path(__file__).resolve().parents[3] / "functions"
TEMPLATES_DIR = FUNCTIONS_DIR / "send_booking_receipt" / "templates"


@contextmanager
def handler_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, the handlers' env vars, a moto mock, and fresh cached clients."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "FAULT_INJECTION", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    aws.client.cache_clear()
    config.get.cache_clear()
    with mock_aws():
        yield
    aws.client.cache_clear()
    config.get.cache_clear()


def create_table() -> DynamoDBClient:
    """The app's table (PK/SK strings, on demand), in moto: a client of it."""
    client: DynamoDBClient = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


class Context:
    """The bits of a Lambda context object the handlers read."""

    aws_request_id = "req-123"
    function_name = "test-function"

    def __init__(self, remaining_ms: int = 10_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Bus:
    """The custom bus with a catch-all rule into an SQS queue, to observe published events."""

    def __init__(self) -> None:
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.events.create_event_bus(Name=BUS)
        self.queue_url = self.sqs.create_queue(QueueName="observer")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(
            Name="observe-all",
            EventBusName=BUS,
            EventPattern=json.dumps({"source": ["bookFlight", "registerBooking"]}),
        )
        self.events.put_targets(
            Rule="observe-all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}]
        )

    def received(self) -> list[dict[str, Any]]:
        """Drain the queue: the events published so far, oldest first as far as SQS allows."""
        out: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return out
            for message in messages:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def seed_flight(ddb: DynamoDBClient, destination: str, flight_date: str, seats: int) -> None:
    """Seed a flight the way tools and e2e tests do: keys and availableSeats only."""
    ddb.put_item(
        TableName=TABLE,
        Item={
            "PK": {"S": f"DESTINATION#{destination}"},
            "SK": {"S": flight_date},
            "availableSeats": {"N": str(seats)},
        },
    )


def stored(ddb: DynamoDBClient, pk: str, sk: str) -> dict[str, Any] | None:
    """The item of that key as the table holds it now (a consistent read); None: none."""
    item = ddb.get_item(
        TableName=TABLE, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True
    ).get("Item")
    return dict(item) if item else None


def flight_seats(ddb: DynamoDBClient, destination: str, flight_date: str) -> int | None:
    item = stored(ddb, f"DESTINATION#{destination}", flight_date)
    return int(item["availableSeats"]["N"]) if item else None


def booking_item(ddb: DynamoDBClient, booking_id: str) -> dict[str, Any] | None:
    return stored(ddb, f"BOOKING#{booking_id}", "BOOKING")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Parse captured stdout, asserting every line is one JSON object."""
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(p, dict) for p in parsed)
    return parsed


def sent_emails() -> list[Any]:
    """Messages moto's SES accepted (moto keeps them in its backend)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)
