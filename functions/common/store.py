"""The single table's keys and item shapes (low-level DynamoDB attribute values).

One table, string keys ``PK``/``SK``:

* flight:  ``PK=DESTINATION#<code>``, ``SK=<YYYY-MM-DD>``, ``availableSeats`` (N),
  ``capacity`` (N), ``itemType=FLIGHT``. Only ``availableSeats`` is relied on, because
  tools and tests seed flights with just the keys and that attribute.
* booking: ``PK=BOOKING#<bookingId>``, ``SK=BOOKING``, ``itemType=BOOKING`` and the
  :class:`Booking` fields, plus notification bookkeeping written by sendBookingReceipt
  (``notification`` = ``SENDING``/``SENT``, ``notificationClaimedAt``, ``notificationSentAt``).
* fault marker (tests only): ``PK=FAULT#<bookingId>``, ``SK=DELIVERIES``, written by the
  fault switch (``common.faults``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from common.validation import FlightBooked

CONFIRMED = "CONFIRMED"
REJECTED = "REJECTED"

# The only reasons a booking is rejected (they reach emails, so they are a closed set).
REASON_FLIGHT_NOT_FOUND = "Flight not found"
REASON_NOT_ENOUGH_SEATS = "Not enough seats for this flight"
REJECTION_REASONS = frozenset({REASON_FLIGHT_NOT_FOUND, REASON_NOT_ENOUGH_SEATS})

FLIGHT_TYPE = "FLIGHT"
BOOKING_TYPE = "BOOKING"
BOOKING_SK = "BOOKING"

NOTIFICATION_SENDING = "SENDING"
NOTIFICATION_SENT = "SENT"

Item = dict[str, dict[str, Any]]


def flight_key(destination: str, flight_date: str) -> Item:
    return {"PK": {"S": f"DESTINATION#{destination}"}, "SK": {"S": flight_date}}


def booking_key(booking_id: str) -> Item:
    return {"PK": {"S": f"BOOKING#{booking_id}"}, "SK": {"S": BOOKING_SK}}


def flight_item(destination: str, flight_date: str, seats: int, created_at: str) -> Item:
    return {
        **flight_key(destination, flight_date),
        "itemType": {"S": FLIGHT_TYPE},
        "availableSeats": {"N": str(seats)},
        "capacity": {"N": str(seats)},
        "createdAt": {"S": created_at},
    }


def available_seats(item: Item | None) -> int | None:
    """Seats left on a flight item, or ``None`` when there is no usable flight."""
    if not item or "N" not in item.get("availableSeats", {}):
        return None
    return int(item["availableSeats"]["N"])


@dataclass(frozen=True)
class Booking(FlightBooked):
    """What was asked (the ``flightBooked`` event's fields) and what came of it."""

    status: str
    createdAt: str
    reason: str | None = None

    def to_item(self) -> Item:
        item: Item = {
            **booking_key(self.bookingId),
            "itemType": {"S": BOOKING_TYPE},
            "bookingId": {"S": self.bookingId},
            "destination": {"S": self.destination},
            "flightDate": {"S": self.flightDate},
            "numberOfSeats": {"N": str(self.numberOfSeats)},
            "bookerEmail": {"S": self.bookerEmail},
            "requestedAt": {"S": self.requestedAt},
            "status": {"S": self.status},
            "createdAt": {"S": self.createdAt},
        }
        if self.reason is not None:
            item["reason"] = {"S": self.reason}
        return item

    @classmethod
    def from_item(cls, item: Item) -> Booking:
        def text(name: str) -> str:
            return str(item.get(name, {}).get("S", ""))

        reason = item.get("reason", {}).get("S")
        return cls(
            bookingId=text("bookingId"),
            destination=text("destination"),
            flightDate=text("flightDate"),
            numberOfSeats=int(item.get("numberOfSeats", {}).get("N", "0")),
            bookerEmail=text("bookerEmail"),
            requestedAt=text("requestedAt"),
            status=text("status"),
            createdAt=text("createdAt"),
            reason=str(reason) if reason is not None else None,
        )

    def to_detail(self) -> dict[str, Any]:
        """The detail of a bookingConfirmed/bookingRejected event: every field, ``reason``
        only if set."""
        detail = dataclasses.asdict(self)
        if self.reason is None:
            del detail["reason"]
        return detail


def get_item(client: Any, table: str, key: Item) -> Item | None:
    """A strongly consistent read: decisions after a cancelled write must see that write."""
    response = client.get_item(TableName=table, Key=key, ConsistentRead=True)
    item = response.get("Item")
    return item if item else None


def get_booking(client: Any, table: str, booking_id: str) -> Booking | None:
    item = get_item(client, table, booking_key(booking_id))
    return Booking.from_item(item) if item else None
