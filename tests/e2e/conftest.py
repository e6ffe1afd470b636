"""The deployed booking app, driven only from the outside: HTTP API, /_aws/ses, DynamoDB,
and the ``skybook`` CLI in a process of its own.

The kit's own readers (the app contract, the HTTP helper, the mail reader, the poller) are
used to get there, so the tests speak of the app in the same terms as the kit.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from skybook import polling, sesmail
from skybook.contract import (
    BOOKING_TYPE,
    Item,
    booking_key,
    booking_request,
    flight_item,
    flight_key,
    plain,
)
from skybook.httpclient import request
from tests.conftest import SandboxUnderTest

T = TypeVar("T")
_dates = itertools.count(1)
REPO = Path(__file__).resolve().parents[2]


def skybook_command(*args: str) -> list[str]:
    """The CLI as a user runs it, in a process of its own."""
    return [sys.executable, "-m", "skybook.cli", *args]


def run_skybook(
    *args: str, env: Mapping[str, str], timeout: float = 240.0
) -> subprocess.CompletedProcess[str]:
    """The CLI run to its end from the repo, its output as text (``timeout`` guards a hang:
    long enough for an ``up`` that deploys the app)."""
    return subprocess.run(
        skybook_command(*args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def start_skybook(*args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """The CLI started from the repo, stdout and stderr piped as text; the caller ends it."""
    return subprocess.Popen(
        skybook_command(*args),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(
    check: Callable[[], T | None], *, timeout: float = 15.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    failure = AssertionError(f"timed out after {timeout}s waiting for {what or check}")
    return polling.wait_for(check, timeout=timeout, interval=interval, error=failure)


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
        headers = {} if content_type is None else {"Content-Type": content_type}
        url = url or self.outputs["bookFlightUrl"]
        answer = request(url, data, method=method, headers=headers, timeout=60)
        return Response(answer.status, answer.body, dict(answer.headers))

    def book(self, destination: str, flight_date: str, seats: int, email: str) -> Response:
        return self.post(booking_request(destination, flight_date, seats, email))

    # --- DynamoDB -------------------------------------------------------------
    @property
    def table(self) -> str:
        return str(self.outputs["tableName"])

    def seed_flight(self, destination: str, flight_date: str, seats: int) -> None:
        self.sandbox.client("dynamodb").put_item(
            TableName=self.table, Item=flight_item(destination, flight_date, seats)
        )

    def item(self, key: Item) -> dict[str, Any] | None:
        """One item, plain values (a consistent read: what the functions wrote, now)."""
        client = self.sandbox.client("dynamodb")
        found = client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return plain(found) if found else None

    def seats(self, destination: str, flight_date: str) -> int | None:
        flight = self.item(flight_key(destination, flight_date))
        return int(flight["availableSeats"]) if flight else None

    def booking(self, booking_id: str) -> dict[str, Any] | None:
        return self.item(booking_key(booking_id))

    def bookings_for(self, destination: str, flight_date: str) -> list[dict[str, Any]]:
        pages = (
            self.sandbox.client("dynamodb")
            .get_paginator("scan")
            .paginate(
                TableName=self.table,
                FilterExpression="itemType = :b AND destination = :d AND flightDate = :f",
                ExpressionAttributeValues={
                    ":b": {"S": BOOKING_TYPE},
                    ":d": {"S": destination},
                    ":f": {"S": flight_date},
                },
                ConsistentRead=True,
            )
        )
        return [plain(item) for page in pages for item in page["Items"]]

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
        return [
            m
            for m in sesmail.messages(self.sandbox.endpoint)
            if (to is None or to in sesmail.recipients(m))
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
