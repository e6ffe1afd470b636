"""Strict parsing of booking requests and events.

Everything that later reaches the table, an event or an email passes these checks, which
is what lets the emails use template data unescaped (see ``send_booking_receipt``): a
destination is one of a fixed list, a date is digits and dashes, a seat count is an int,
an email address has no markup characters, a booking id is a UUID.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

DESTINATIONS: tuple[str, ...] = ("CDG", "LHR", "FRA", "IST", "AMS", "FCO", "LAX")
MAX_BODY_BYTES = 4096
MIN_SEATS, MAX_SEATS = 1, 9
REQUEST_FIELDS: tuple[str, ...] = ("destination", "flightDate", "numberOfSeats", "bookerEmail")

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Pragmatic address check: ASCII local part without quotes/spaces, dotted domain, letter TLD.
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TLD_RE = re.compile(r"[A-Za-z]{2,63}")


class ValidationError(ValueError):
    """A client or event error: ``status`` and ``body`` make the API response."""

    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra

    @property
    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}


@dataclass(frozen=True)
class BookingRequest:
    destination: str
    flightDate: str
    numberOfSeats: int
    bookerEmail: str


@dataclass(frozen=True)
class FlightBooked:
    """The detail of a ``flightBooked`` event."""

    bookingId: str
    destination: str
    flightDate: str
    numberOfSeats: int
    bookerEmail: str
    requestedAt: str


# -- single fields ---------------------------------------------------------------------------


def _invalid(field: str, rule: str) -> ValidationError:
    return ValidationError(f"Invalid {field}: {rule}", field=field)


def check_destination(value: Any) -> str:
    if not isinstance(value, str) or value not in DESTINATIONS:
        raise _invalid("destination", f"must be one of {', '.join(DESTINATIONS)}")
    return value


def check_flight_date(value: Any) -> str:
    rule = "must be a calendar date YYYY-MM-DD"
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise _invalid("flightDate", rule)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _invalid("flightDate", rule) from None
    return value


def check_number_of_seats(value: Any) -> int:
    # type() rather than isinstance(): True is an int in Python, and 1.0 is not accepted.
    if type(value) is not int or not MIN_SEATS <= value <= MAX_SEATS:
        raise _invalid("numberOfSeats", f"must be an integer from {MIN_SEATS} to {MAX_SEATS}")
    return value


def check_email(value: Any) -> str:
    rule = "must be an email address like name@example.com"
    if not isinstance(value, str) or len(value) > 254 or not value.isascii():
        raise _invalid("bookerEmail", rule)
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(local) > 64
        or not _LOCAL_RE.fullmatch(local)
        or len(labels) < 2
        or not all(_LABEL_RE.fullmatch(label) for label in labels[:-1])
        or not _TLD_RE.fullmatch(labels[-1])
    ):
        raise _invalid("bookerEmail", rule)
    return value


def check_booking_id(value: Any) -> str:
    try:
        if isinstance(value, str) and str(uuid.UUID(value)) == value:
            return value
    except ValueError:
        pass
    raise _invalid("bookingId", "must be a lowercase UUID")


def check_timestamp(value: Any, field: str) -> str:
    try:
        if isinstance(value, str) and len(value) <= 40:
            datetime.fromisoformat(value)
            return value
    except ValueError:
        pass
    raise _invalid(field, "must be an ISO 8601 time")


# -- whole payloads --------------------------------------------------------------------------


def _check_fields(payload: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Missing fields first (all of them), then unknown ones: the clearest message first."""
    missing = [name for name in allowed if payload.get(name) is None]
    if missing:
        raise ValidationError("Missing required parameters", missing=missing)
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        raise ValidationError(f"Unknown parameters: {', '.join(unknown)}", unknown=unknown)


def _check_request_fields(payload: dict[str, Any]) -> None:
    check_destination(payload["destination"])
    check_flight_date(payload["flightDate"])
    check_number_of_seats(payload["numberOfSeats"])
    check_email(payload["bookerEmail"])


def check_content_type(headers: Any) -> None:
    """Accept ``application/json`` (any parameters, any case) or no content type at all."""
    if not isinstance(headers, dict):
        return
    value = next(
        (v for k, v in headers.items() if isinstance(k, str) and k.lower() == "content-type"),
        None,
    )
    if value is None or not str(value).strip():
        return
    media_type = str(value).split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ValidationError("Content-Type must be application/json", status=415)


def parse_booking_request(event: dict[str, Any]) -> BookingRequest:
    """Validate an API Gateway proxy event's headers and body into a :class:`BookingRequest`."""
    check_content_type(event.get("headers"))
    body = event.get("body")
    if body is None or body == "":
        raise ValidationError("Request body is required")
    if not isinstance(body, str):
        raise ValidationError("Request body must be a JSON object")
    raw: bytes
    if event.get("isBase64Encoded"):
        if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise ValidationError(f"Request body exceeds {MAX_BODY_BYTES} bytes", status=413)
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("Request body is not valid base64") from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise ValidationError(f"Request body exceeds {MAX_BODY_BYTES} bytes", status=413)
    try:
        payload = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationError("Request body must be valid JSON") from None
    if not isinstance(payload, dict):
        raise ValidationError("Request body must be a JSON object")
    _check_fields(payload, REQUEST_FIELDS)
    _check_request_fields(payload)
    return BookingRequest(
        destination=payload["destination"],
        flightDate=payload["flightDate"],
        numberOfSeats=payload["numberOfSeats"],
        bookerEmail=payload["bookerEmail"],
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_flight_booked(detail: Any) -> FlightBooked:
    """Validate a ``flightBooked`` event detail (as strictly as the API request)."""
    if not isinstance(detail, dict):
        raise ValidationError("event detail must be an object")
    fields = ("bookingId", *REQUEST_FIELDS, "requestedAt")
    _check_fields(detail, fields)
    _check_request_fields(detail)
    return FlightBooked(
        bookingId=check_booking_id(detail["bookingId"]),
        destination=detail["destination"],
        flightDate=detail["flightDate"],
        numberOfSeats=detail["numberOfSeats"],
        bookerEmail=detail["bookerEmail"],
        requestedAt=check_timestamp(detail["requestedAt"], "requestedAt"),
    )
