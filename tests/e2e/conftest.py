"""The deployed booking app, driven only from the outside: HTTP API, /_aws/ses, DynamoDB."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import SandboxUnderTest

T = TypeVar("T")
_dates = itertools.count(1)


def wait_for(
    check: Callable[[], T | None], *, timeout: float = 15.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(interval)


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class App:
    """The app under test and the outside views of it."""

    sandbox: SandboxUnderTest
    outputs: dict[str, Any]

    # --- the API ------------------------------------------------------------
    def post(
        self,
        body: dict[str, Any] | bytes | str,
        *,
        content_type: str | None = "application/json",
        method: str = "POST",
        url: str | None = None,
    ) -> Response:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        data = data.encode() if isinstance(data, str) else data
        request = urllib.request.Request(url or self.outputs["bookFlightUrl"], data=data)
        request.method = method
        if content_type is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw, headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, headers = error.code, error.read(), error.headers
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"_raw": raw.decode(errors="replace")}
        return Response(status, parsed, dict(headers.items()))

    def book(self, destination: str, flight_date: str, seats: int, email: str) -> Response:
        return self.post(
            {
                "destination": destination,
                "flightDate": flight_date,
                "numberOfSeats": seats,
                "bookerEmail": email,
            }
        )

    # --- DynamoDB -------------------------------------------------------------
    @property
    def table(self) -> str:
        return str(self.outputs["tableName"])

    def seed_flight(self, destination: str, flight_date: str, seats: int) -> None:
        self.sandbox.client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "PK": {"S": f"DESTINATION#{destination}"},
                "SK": {"S": flight_date},
                "availableSeats": {"N": str(seats)},
            },
        )

    def seats(self, destination: str, flight_date: str) -> int | None:
        item = (
            self.sandbox.client("dynamodb")
            .get_item(
                TableName=self.table,
                Key={"PK": {"S": f"DESTINATION#{destination}"}, "SK": {"S": flight_date}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return int(item["availableSeats"]["N"]) if item else None

    def booking(self, booking_id: str) -> dict[str, Any] | None:
        item = (
            self.sandbox.client("dynamodb")
            .get_item(
                TableName=self.table,
                Key={"PK": {"S": f"BOOKING#{booking_id}"}, "SK": {"S": "BOOKING"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item:
            return None
        return {k: next(iter(v.values())) for k, v in item.items()}

    def bookings_for(self, destination: str, flight_date: str) -> list[dict[str, Any]]:
        pages = (
            self.sandbox.client("dynamodb")
            .get_paginator("scan")
            .paginate(
                TableName=self.table,
                FilterExpression="itemType = :b AND destination = :d AND flightDate = :f",
                ExpressionAttributeValues={
                    ":b": {"S": "BOOKING"},
                    ":d": {"S": destination},
                    ":f": {"S": flight_date},
                },
                ConsistentRead=True,
            )
        )
        return [
            {k: next(iter(v.values())) for k, v in item.items()}
            for page in pages
            for item in page["Items"]
        ]

    # --- logs -----------------------------------------------------------------
    def log_lines(self, function: str, *needles: str) -> list[str]:
        """Lines of a function's CloudWatch log (``function`` as in outputs, e.g.
        ``registerBooking``) that contain every needle."""
        logs = self.sandbox.client("logs")
        group = f"/aws/lambda/{self.outputs['functions'][function]}"
        try:
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
            messages = [e["message"] for page in pages for e in page["events"]]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [m for m in messages if all(n in m for n in needles)]

    # --- mail -----------------------------------------------------------------
    def mail(self, to: str | None = None, template: str | None = None) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.sandbox.endpoint}/_aws/ses", timeout=10) as r:
            messages: list[dict[str, Any]] = json.load(r)["messages"]
        return [
            m
            for m in messages
            if (to is None or to in m.get("Destination", {}).get("ToAddresses", []))
            and (template is None or m.get("Template") == template)
        ]

    def receipts(self, to: str) -> list[dict[str, Any]]:
        # SES template names are the deployment's own (bookingReceiptTemplate only for the
        # default stack and stage): the outputs name them.
        [receipt] = [t for t in self.outputs["templates"] if t.endswith("bookingReceiptTemplate")]
        return self.mail(to, receipt)


# One random base per session (a rerun on a long-lived sandbox gets other dates), then a
# counter: no two tests of a session ever share a flight date.
_BASE = date(2031, 1, 1) + timedelta(days=uuid.uuid4().int % 20_000)


def unique_date() -> str:
    """A flight date no other test uses, so tests share the stack without sharing flights."""
    return (_BASE + timedelta(days=next(_dates))).isoformat()


def unique_email(tag: str = "booker") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(scope="session")
def app(sandbox: SandboxUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    from skybook.app import deploy_app

    outputs_file: Path = tmp_path_factory.mktemp("stack") / "outputs.json"
    outputs = deploy_app(sandbox.endpoint, outputs_file=outputs_file, quiet=True)
    yield App(sandbox=sandbox, outputs=outputs)
