"""The app as a person thinks of it: flights, bookings, bus events and function logs.

Read from the deployed stack (its outputs: table, function and log group names) on the
sandbox, and shared by the CLI and the console page. Everything here only reads, except
:func:`clear_table` which ``skybook reset`` uses. Connection and missing-resource errors
become :class:`skybook.app.AppError` with a one-line message saying what to do.
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import botocore.exceptions

from bootstrap import Target
from bootstrap.target import DEFAULT_REGION
from skybook.app import AppError
from skybook.contract import BOOKING_PREFIX, CONFIRMED, FLIGHT_PREFIX, booking_key, plain


@dataclass(frozen=True)
class Flight:
    destination: str
    date: str
    seatsLeft: int
    capacity: int | None  # None for flights created without it (e.g. by hand)
    bookings: int  # confirmed bookings

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Booking:
    id: str
    destination: str
    date: str
    seats: int
    email: str
    status: str
    reason: str | None
    createdAt: str
    notification: str | None  # SENDING / SENT once sendBookingReceipt took it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LogLine:
    function: str
    timestamp: int  # ms since the epoch
    message: str
    stream: str
    id: str  # the CloudWatch event id, to de-duplicate when following

    @property
    def fields(self) -> dict[str, Any] | None:
        """The JSON object of a structured line, or None for plain text (START, REPORT...)."""
        try:
            value = json.loads(self.message)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "fields": self.fields}


class AppView:
    """Clients for one deployed stack; cheap to keep, costly (boto3) to build often."""

    def __init__(self, target: Target, outputs: dict[str, Any]) -> None:
        self.target = target
        self.endpoint = target.endpoint
        self.outputs = outputs
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        """A cached client; built under a lock (a boto3 session is not thread-safe)."""
        with self._lock:
            return self.target.client(service)

    @property
    def table(self) -> str:
        return str(self.outputs["tableName"])

    def function_name(self, logical: str) -> str:
        functions: dict[str, str] = self.outputs.get("functions") or {}
        if logical not in functions:
            known = ", ".join(sorted(functions)) or "none"
            raise AppError(f"unknown function {logical!r}: use one of {known}")
        return functions[logical]

    @property
    def event_log_group(self) -> str:
        return str(self.outputs.get("eventLogGroup") or f"/aws/events/{self.outputs['stack']}")

    @contextlib.contextmanager
    def friendly(self, what: str) -> Iterator[None]:
        """AWS errors as one line: no sandbox, or a stack that is not (fully) there."""
        try:
            yield
        except botocore.exceptions.EndpointConnectionError:
            raise AppError(self.target.unreachable_message()) from None
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise AppError(
                    f"{what} of stack {self.outputs.get('stack')} not found on "
                    f"{self.target.describe()}: deploy it with 'skybook deploy'"
                ) from None
            raise

    # --- DynamoDB -------------------------------------------------------------------------
    def items(self) -> list[dict[str, Any]]:
        """Every item of the table, plain values (the table is small on a sandbox)."""
        with self.friendly(f"table {self.table}"):
            pages = (
                self.client("dynamodb")
                .get_paginator("scan")
                .paginate(TableName=self.table, ConsistentRead=True)
            )
            return [plain(item) for page in pages for item in page["Items"]]

    def booking(self, booking_id: str) -> Booking | None:
        with self.friendly(f"table {self.table}"):
            item = (
                self.client("dynamodb")
                .get_item(
                    TableName=self.table,
                    Key=booking_key(booking_id),
                    ConsistentRead=True,
                )
                .get("Item")
            )
        return _booking(plain(item)) if item else None

    def clear_table(self) -> dict[str, int]:
        """Delete every item (flights and bookings); the table itself stays."""
        counts = {"flights": 0, "bookings": 0, "other": 0}
        items = self.items()
        with self.friendly(f"table {self.table}"):
            client = self.client("dynamodb")
            for start in range(0, len(items), 25):
                batch = items[start : start + 25]
                requests = [
                    {"DeleteRequest": {"Key": {"PK": {"S": i["PK"]}, "SK": {"S": i["SK"]}}}}
                    for i in batch
                ]
                pending: dict[str, Any] = {self.table: requests}
                while pending:
                    pending = client.batch_write_item(RequestItems=pending).get(
                        "UnprocessedItems", {}
                    )
        for item in items:
            pk = str(item.get("PK", ""))
            kind = (
                "flights"
                if pk.startswith(FLIGHT_PREFIX)
                else "bookings"
                if pk.startswith(BOOKING_PREFIX)
                else "other"
            )
            counts[kind] += 1
        return counts

    # --- CloudWatch Logs ------------------------------------------------------------------
    def log_events(self, group: str, *, since_ms: int | None, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` events of a log group (oldest first); [] if it has none yet."""
        logs = self.client("logs")
        kwargs: dict[str, Any] = {"logGroupName": group}
        if since_ms is not None:
            kwargs["startTime"] = since_ms
        newest: collections.deque[dict[str, Any]] = collections.deque(maxlen=max(limit, 0))
        with self.friendly(f"log group {group}"):
            try:
                for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
                    newest.extend(page["events"])
            except logs.exceptions.ResourceNotFoundException:
                return []  # not created yet (or deleted): nothing logged
        # Stable: events of the same millisecond keep the order CloudWatch gave them.
        return sorted(newest, key=lambda e: int(e.get("timestamp", 0)))


def _booking(item: dict[str, Any]) -> Booking:
    return Booking(
        id=str(item.get("bookingId", str(item.get("PK", ""))[len(BOOKING_PREFIX) :])),
        destination=str(item.get("destination", "")),
        date=str(item.get("flightDate", "")),
        seats=int(item.get("numberOfSeats", 0)),
        email=str(item.get("bookerEmail", "")),
        status=str(item.get("status", "")),
        reason=item.get("reason"),
        createdAt=str(item.get("createdAt") or item.get("requestedAt") or ""),
        notification=item.get("notification"),
    )


_views: dict[tuple[str, str], AppView] = {}
_views_lock = threading.Lock()


def view(outputs: dict[str, Any], target: Target) -> AppView:
    """A cached :class:`AppView` per target and stack (the console polls often)."""
    key = (target.describe(), json.dumps(outputs, sort_keys=True))
    with _views_lock:
        if key not in _views:
            _views[key] = AppView(target, outputs)
        return _views[key]


def local(endpoint: str, outputs: dict[str, Any]) -> Target:
    """The target of a stack on a LocalStack endpoint, in the stack's region."""
    return Target.local(endpoint, str(outputs.get("region") or DEFAULT_REGION))


# --- the public API ------------------------------------------------------------------------


def flights(outputs: dict[str, Any], target: Target) -> list[Flight]:
    """Every flight with its seats left and confirmed bookings, by date then destination."""
    items = view(outputs, target).items()
    confirmed = collections.Counter(
        (i.get("destination"), i.get("flightDate"))
        for i in items
        if str(i.get("PK", "")).startswith(BOOKING_PREFIX) and i.get("status") == CONFIRMED
    )
    result = []
    for item in items:
        pk = str(item.get("PK", ""))
        if not pk.startswith(FLIGHT_PREFIX):
            continue
        destination, flight_date = pk[len(FLIGHT_PREFIX) :], str(item.get("SK", ""))
        capacity = item.get("capacity")
        result.append(
            Flight(
                destination=destination,
                date=flight_date,
                seatsLeft=int(item.get("availableSeats", 0)),
                capacity=int(capacity) if capacity is not None else None,
                bookings=confirmed[(destination, flight_date)],
            )
        )
    return sorted(result, key=lambda f: (f.date, f.destination))


def bookings(
    outputs: dict[str, Any],
    target: Target,
    *,
    destination: str | None = None,
    date: str | None = None,
) -> list[Booking]:
    """Bookings (optionally of one destination and/or date), oldest first."""
    result = [
        _booking(item)
        for item in view(outputs, target).items()
        if str(item.get("PK", "")).startswith(BOOKING_PREFIX)
    ]
    result = [
        b
        for b in result
        if (destination is None or b.destination == destination.upper())
        and (date is None or b.date == date)
    ]
    return sorted(result, key=lambda b: (b.createdAt, b.id))


def booking(outputs: dict[str, Any], target: Target, booking_id: str) -> Booking | None:
    """One booking by id (a consistent read), or None while it is not registered."""
    return view(outputs, target).booking(booking_id)


def events(
    outputs: dict[str, Any],
    target: Target,
    *,
    since_ms: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest bus events (oldest first), as the stack's catch-all rule logged them.

    Each is the EventBridge event (``source``, ``detail-type``, ``time``, ``detail`` ...).
    Needs the stack deployed with its event log (always so on the sandbox).
    """
    app = view(outputs, target)
    result = []
    for entry in app.log_events(app.event_log_group, since_ms=since_ms, limit=limit):
        try:
            event = json.loads(entry["message"])
        except ValueError:
            continue
        if isinstance(event, dict):
            result.append(event)
    return result


def function_logs(
    outputs: dict[str, Any],
    target: Target,
    function: str,
    *,
    booking_id: str | None = None,
    since_ms: int | None = None,
    limit: int = 200,
) -> list[LogLine]:
    """The newest lines (oldest first) of a function's CloudWatch log group.

    ``function`` is the logical name (bookFlight, registerBooking, sendBookingReceipt,
    syncFlights); ``booking_id`` keeps the lines mentioning that booking.
    """
    app = view(outputs, target)
    name = app.function_name(function)
    # Filter before limiting, so a booking's lines are not crowded out by newer ones.
    entries = app.log_events(
        f"/aws/lambda/{name}", since_ms=since_ms, limit=limit if booking_id is None else 10**9
    )
    lines = [
        LogLine(
            function=function,
            timestamp=int(e.get("timestamp", 0)),
            message=str(e.get("message", "")).rstrip("\n"),
            stream=str(e.get("logStreamName", "")),
            id=str(e.get("eventId", "")),
        )
        for e in entries
        if booking_id is None or booking_id in str(e.get("message", ""))
    ]
    return lines[-limit:] if limit > 0 else []
