"""The app's contract as the kit sees it: the table's keys and items, the API's request body,
the email templates, the function names.

The functions hold the same facts in ``functions/common``, which ships alone in every
function's zip: the kit must not import it, and it cannot import the kit. So they are
written twice, here and there, and ``tests/unit/skybook/test_contract.py`` keeps the two
equal. Everything in the kit that reads or writes app data takes them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

# --- the table (see functions/common/store.py) -----------------------------------------------
FLIGHT_PREFIX = "DESTINATION#"  # a flight: PK=DESTINATION#<code>, SK=<YYYY-MM-DD>
BOOKING_PREFIX = "BOOKING#"  # a booking: PK=BOOKING#<bookingId>, SK=BOOKING
BOOKING_SK = "BOOKING"
BOOKING_TYPE = "BOOKING"  # the itemType of a booking item
CONFIRMED = "CONFIRMED"
REJECTED = "REJECTED"
NOTIFICATION_SENT = "SENT"  # a booking's ``notification`` once its email went out

# --- the API (see functions/common/validation.py) ---------------------------------------------
DESTINATIONS: tuple[str, ...] = ("CDG", "LHR", "FRA", "IST", "AMS", "FCO", "LAX")

# --- the emails (see functions/common/config.py) ----------------------------------------------
RECEIPT_TEMPLATE = "bookingReceiptTemplate"
REJECTION_TEMPLATE = "bookingRejectedTemplate"

# --- the functions, by the names the stack's outputs use ---------------------------------------
FUNCTION_NAMES = ("bookFlight", "registerBooking", "sendBookingReceipt", "syncFlights")

Item = dict[str, dict[str, Any]]
_deserializer = TypeDeserializer()


def flight_key(destination: str, flight_date: str) -> Item:
    return {"PK": {"S": FLIGHT_PREFIX + destination}, "SK": {"S": flight_date}}


def booking_key(booking_id: str) -> Item:
    return {"PK": {"S": BOOKING_PREFIX + booking_id}, "SK": {"S": BOOKING_SK}}


def flight_item(destination: str, flight_date: str, seats: int) -> Item:
    """A flight as tools and tests seed it: its key and seats (all the functions rely on)."""
    return {**flight_key(destination, flight_date), "availableSeats": {"N": str(seats)}}


def booking_request(destination: str, flight_date: str, seats: int, email: str) -> dict[str, Any]:
    """The body of ``POST /book-flight``."""
    return {
        "destination": destination,
        "flightDate": flight_date,
        "numberOfSeats": seats,
        "bookerEmail": email,
    }


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (low-level attribute values) as plain Python values.

    boto3's own :class:`TypeDeserializer`, with numbers as ``int`` (or ``float``) instead of
    ``Decimal``, so the values print and encode as JSON the way the app wrote them.
    """
    return {key: _number(_deserializer.deserialize(value)) for key, value in item.items()}


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, set):
        return {_number(v) for v in value}
    return value
