"""Driving the app: seeding a run's flights, and sending its bookings through the HTTP API."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from skybook.appdata import AppView
from skybook.contract import DESTINATIONS, flight_item
from skybook.httpclient import Unreachable, post_json
from skybook.load.plan import BookingRequest, Flight
from skybook.load.target import book_url

REQUEST_TIMEOUT = 60.0


@dataclass
class Outcome:
    """What one request got: an HTTP status and JSON body, or a transport error."""

    request: BookingRequest
    sent_at: float  # wall clock, comparable with the functions' timestamps
    latency_ms: float | None = None
    status: int | None = None
    body: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # "connection: <exception>", "timeout", "not sent (deadline)"

    @property
    def booking_id(self) -> str | None:
        value = self.body.get("bookingId") if self.status == 200 else None
        return value if isinstance(value, str) else None


def seed_flights(app: AppView, count: int, seats: int, rng: random.Random) -> list[Flight]:
    """Create ``count`` new flights on dates far from other users' (conditional puts)."""
    dynamodb = app.client("dynamodb")
    flights: list[Flight] = []
    while len(flights) < count:
        day = date(2100, 1, 1) + timedelta(days=rng.randrange(250_000))
        flight = Flight(DESTINATIONS[len(flights) % len(DESTINATIONS)], day.isoformat(), seats)
        try:
            dynamodb.put_item(
                TableName=app.table,
                Item=flight_item(flight.destination, flight.date, seats),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            continue  # an earlier run's flight: pick another date
        flights.append(flight)
    return flights


def post_booking(url: str, request: BookingRequest, timeout: float = REQUEST_TIMEOUT) -> Outcome:
    outcome = Outcome(request, sent_at=time.time())
    started = time.perf_counter()
    try:
        answer = post_json(url, request.body, timeout=timeout)
    except Unreachable as error:
        reason = type(error.reason).__name__
        outcome.error = "timeout" if error.timed_out else f"connection: {reason}"
        return outcome
    finally:
        outcome.latency_ms = (time.perf_counter() - started) * 1000
    outcome.status, outcome.body = answer.status, answer.body
    return outcome


def send_all(
    app: AppView, requests: list[BookingRequest], concurrency: int, deadline: float
) -> list[Outcome]:
    """Send every request with ``concurrency`` in flight; those past the deadline are not sent."""
    url = book_url(app.outputs)
    outcomes: list[Outcome | None] = [None] * len(requests)
    cursor = iter(range(len(requests)))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            request = requests[index]
            if time.monotonic() > deadline:
                outcomes[index] = Outcome(request, time.time(), error="not sent (deadline)")
                continue
            remaining = max(1.0, min(REQUEST_TIMEOUT, deadline - time.monotonic()))
            outcomes[index] = post_booking(url, request, remaining)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [o for o in outcomes if o is not None]
