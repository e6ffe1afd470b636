"""Reading back what the app made of a run: its stored bookings, seats left and mail."""

from __future__ import annotations

from typing import Any

from skybook import sesmail
from skybook.appdata import AppView
from skybook.contract import BOOKING_TYPE, NOTIFICATION_SENT, booking_key, plain
from skybook.load.plan import Flight, email_prefix
from skybook.polling import poll

MAIL_TIMEOUT = 30.0


def fetch_bookings(app: AppView, booking_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored booking items for these ids (strongly consistent batch reads)."""
    dynamodb = app.client("dynamodb")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(booking_ids), 100):
        keys = [booking_key(b) for b in booking_ids[start : start + 100]]
        request: dict[str, Any] = {app.table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(app.table, []):
                booking = plain(item)
                found[booking["bookingId"]] = booking
            request = response.get("UnprocessedKeys") or {}
    return found


def scan_run_bookings(app: AppView, run_id: str) -> list[dict[str, Any]]:
    """Every booking item of this run, whether or not the API said it was accepted."""
    pages = (
        app.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=app.table,
            FilterExpression="itemType = :b AND begins_with(bookerEmail, :p)",
            ExpressionAttributeValues={
                ":b": {"S": BOOKING_TYPE},
                ":p": {"S": email_prefix(run_id)},
            },
            ConsistentRead=True,
        )
    )
    return [plain(item) for page in pages for item in page["Items"]]


def run_mail(app: AppView, emails: set[str]) -> list[dict[str, Any]]:
    """The captured messages to any of ``emails`` (the run's own addresses)."""
    assert app.endpoint is not None  # aim() made sure: a sandbox on loopback
    return [
        m
        for m in sesmail.messages(app.endpoint, timeout=MAIL_TIMEOUT)
        if set(sesmail.recipients(m)) & emails
    ]


def read_seats(app: AppView, flights: list[Flight]) -> dict[Flight, int | None]:
    dynamodb = app.client("dynamodb")
    seats: dict[Flight, int | None] = {}
    for flight in flights:
        item = dynamodb.get_item(TableName=app.table, Key=flight.key, ConsistentRead=True)
        value = plain(item.get("Item", {})).get("availableSeats")
        seats[flight] = int(value) if value is not None else None
    return seats


def wait_settled(
    app: AppView, booking_ids: list[str], deadline: float, interval: float = 0.5
) -> tuple[dict[str, dict[str, Any]], bool]:
    """Poll until every accepted booking is stored and its email recorded as sent."""
    bookings: dict[str, dict[str, Any]] = {}
    pending = list(booking_ids)

    def settled() -> bool:
        nonlocal pending
        bookings.update(fetch_bookings(app, pending))
        pending = [
            b for b in booking_ids if bookings.get(b, {}).get("notification") != NOTIFICATION_SENT
        ]
        return not pending

    return bookings, bool(poll(settled, deadline=deadline, interval=interval))
