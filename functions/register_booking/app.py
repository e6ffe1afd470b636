"""registerBooking: turns a ``flightBooked`` event into a confirmed or rejected booking.

One DynamoDB transaction decrements the flight's seats only if enough remain and creates
the booking item only if it does not exist yet, so concurrent bookings cannot overbook and
a redelivered event cannot book twice. When the transaction is cancelled the cause is
found by reading the items afterwards (consistent reads work the same on AWS, LocalStack
and moto, unlike cancellation reasons):

* the booking exists  -> a duplicate delivery: re-emit its stored outcome (covers a crash
  between the transaction and PutEvents; the receipt is idempotent downstream);
* flight missing / too few seats -> store a REJECTED booking and emit ``bookingRejected``;
* neither (e.g. a transaction conflict) -> raise, and the async retry tries again.

A malformed event is logged and dropped (retrying cannot fix it). AWS errors are raised so
that Lambda's async retries, then the on-failure destination, take over.

The fault switch (``FAULT_INJECTION``, tests only) wraps the handler and :func:`_book`; see
``common.faults``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from common import aws, clock, events, faults, store
from common.invocation import Dropped, Invocation, lambda_handler
from common.log import BoundLogger
from common.validation import FlightBooked, ValidationError, parse_flight_booked


class RetryableError(RuntimeError):
    """The transaction failed for a transient reason; let the async retry redo it."""


@lambda_handler
@faults.whole_call
def handler(call: Invocation) -> dict[str, Any]:
    return _book(call, _flight_booked(call.envelope))


def _flight_booked(received: events.Envelope) -> FlightBooked:
    if received.detail_type != events.FLIGHT_BOOKED:
        raise Dropped("dropping event of unexpected type", detailType=received.detail_type)
    try:
        return parse_flight_booked(received.detail)
    except ValidationError as exc:
        raise Dropped(
            "dropping malformed flightBooked event", error=exc.body, detail=received.detail
        ) from None


@faults.per_delivery
def _book(call: Invocation, request: FlightBooked) -> dict[str, Any]:
    """Register the booking, then publish its outcome (again, for a duplicate delivery)."""
    table = call.config.need("table_name")
    bus = call.config.need("event_bus_name")
    booking, duplicate = _register(aws.client("dynamodb"), table, request, call.log)
    detail_type = (
        events.BOOKING_CONFIRMED if booking.status == store.CONFIRMED else events.BOOKING_REJECTED
    )
    event_id = events.put_event(
        aws.client("events"),
        bus,
        events.SOURCE_REGISTER_BOOKING,
        detail_type,
        booking.to_detail(),
    )
    call.log.info(
        "booking outcome published",
        status=booking.status,
        reason=booking.reason,
        detailType=detail_type,
        eventId=event_id,
        duplicate=duplicate,
    )
    return {"bookingId": booking.bookingId, "status": booking.status, "duplicate": duplicate}


def _booking(request: FlightBooked, status: str, reason: str | None = None) -> store.Booking:
    return store.Booking(
        **dataclasses.asdict(request),
        status=status,
        createdAt=clock.iso(clock.now()),
        reason=reason,
    )


def _register(
    client: Any, table: str, request: FlightBooked, log: BoundLogger
) -> tuple[store.Booking, bool]:
    """Store the booking's outcome exactly once; return it and whether it already existed."""
    confirmed = _booking(request, store.CONFIRMED)
    seats = {":n": {"N": str(request.numberOfSeats)}}
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": store.flight_key(request.destination, request.flightDate),
                        "UpdateExpression": "SET availableSeats = availableSeats - :n",
                        "ConditionExpression": "attribute_exists(PK) AND availableSeats >= :n",
                        "ExpressionAttributeValues": seats,
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": confirmed.to_item(),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
        log.info("booking confirmed", destination=request.destination, seats=request.numberOfSeats)
        return confirmed, False
    except client.exceptions.TransactionCanceledException as exc:
        log.info("booking transaction cancelled", reasons=_reason_codes(exc))

    existing = store.get_booking(client, table, request.bookingId)
    if existing is not None:
        log.info("duplicate delivery: booking already registered", status=existing.status)
        return existing, True

    flight = store.get_item(
        client, table, store.flight_key(request.destination, request.flightDate)
    )
    available = store.available_seats(flight)
    if available is None:
        reason = store.REASON_FLIGHT_NOT_FOUND
    elif available < request.numberOfSeats:
        reason = store.REASON_NOT_ENOUGH_SEATS
    else:
        raise RetryableError(
            f"transaction cancelled but {available} seats remain and no booking exists"
        )

    rejected = _booking(request, store.REJECTED, reason)
    try:
        client.put_item(
            TableName=table,
            Item=rejected.to_item(),
            ConditionExpression="attribute_not_exists(PK)",
        )
    except client.exceptions.ConditionalCheckFailedException:
        # A concurrent delivery of the same event stored an outcome first: that one wins.
        winner = store.get_booking(client, table, request.bookingId)
        if winner is None:
            raise RetryableError("booking vanished after a conditional put failed") from None
        log.info("duplicate delivery: booking registered concurrently", status=winner.status)
        return winner, True
    log.info("booking rejected", reason=reason, availableSeats=available)
    return rejected, False


def _reason_codes(exc: Exception) -> list[str]:
    """Cancellation reason codes, for the log only (not relied on; see module docstring)."""
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return [str(r.get("Code", "")) for r in reasons if isinstance(r, dict)]
