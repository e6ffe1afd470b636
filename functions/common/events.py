"""EventBridge names and the one way we publish: PutEvents, checked for failed entries.

PutEvents reports per-entry failures in a 200 response; ignoring ``FailedEntryCount``
silently drops events, so :func:`put_event` raises instead and the caller's retry
(API error for bookFlight, async Lambda retry for the others) redoes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SOURCE_BOOK_FLIGHT = "bookFlight"
FLIGHT_BOOKED = "flightBooked"

SOURCE_REGISTER_BOOKING = "registerBooking"
BOOKING_CONFIRMED = "bookingConfirmed"
BOOKING_REJECTED = "bookingRejected"


class PublishError(RuntimeError):
    """EventBridge did not accept the event."""


@dataclass(frozen=True)
class Envelope:
    """What every consumer reads first of an EventBridge event, whatever its shape."""

    detail_type: Any
    detail: Any
    booking_id: str | None


def envelope(event: Any) -> Envelope:
    """The event's detail-type, detail and bookingId, never raising on a malformed event
    (the handler logs and drops those; a retry would not make them valid)."""
    detail_type = event.get("detail-type") if isinstance(event, dict) else None
    detail = event.get("detail") if isinstance(event, dict) else None
    booking_id = detail.get("bookingId") if isinstance(detail, dict) else None
    return Envelope(detail_type, detail, booking_id if isinstance(booking_id, str) else None)


def put_event(
    client: Any, bus_name: str, source: str, detail_type: str, detail: dict[str, Any]
) -> str:
    """Publish one event on ``bus_name`` and return its event id."""
    response = client.put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
        ]
    )
    entries = response.get("Entries") or [{}]
    if response.get("FailedEntryCount", 0) or "EventId" not in entries[0]:
        entry = entries[0]
        code, message = entry.get("ErrorCode"), entry.get("ErrorMessage")
        raise PublishError(f"PutEvents rejected {detail_type}: {code} {message}")
    return str(entries[0]["EventId"])
