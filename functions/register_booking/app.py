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

The fault switch (``FAULT_INJECTION``, tests only) is checked first; its per-delivery faults
(see ``common.faults``) apply after the event is parsed and before the transaction, so a
delivery that fails or is killed there has written nothing but its delivery count.
"""

from __future__ import annotations

import os
import time
from typing import Any

from common import aws, clock, config, events, faults, store
from common.log import BoundLogger, get_logger
from common.validation import FlightBooked, ValidationError, parse_flight_booked


class RetryableError(RuntimeError):
    """The transaction failed for a transient reason; let the async retry redo it."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    log = get_logger(context)
    cfg = config.get()
    table = cfg.need("table_name")
    bus = cfg.need("event_bus_name")

    received = events.envelope(event)
    detail = received.detail
    if received.booking_id:
        log = log.bind(bookingId=received.booking_id)
    try:
        faults.check(cfg.fault_injection)
        per_delivery = faults.per_delivery(cfg.fault_injection)
    except faults.InjectedFault as exc:
        log.error("injected fault", error=str(exc))
        raise
    if received.detail_type != events.FLIGHT_BOOKED:
        log.error("dropping event of unexpected type", detailType=received.detail_type)
        return {"status": "DROPPED"}
    try:
        request = parse_flight_booked(detail)
    except ValidationError as exc:
        log.error("dropping malformed flightBooked event", error=exc.body, detail=detail)
        return {"status": "DROPPED"}

    if per_delivery is not None:
        _delivery_faults(
            aws.client("dynamodb"), table, request.bookingId, per_delivery, context, log
        )
    booking, duplicate = _register(aws.client("dynamodb"), table, request, log)
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
    log.info(
        "booking outcome published",
        status=booking.status,
        reason=booking.reason,
        detailType=detail_type,
        eventId=event_id,
        duplicate=duplicate,
    )
    return {"bookingId": booking.bookingId, "status": booking.status, "duplicate": duplicate}


def _delivery_faults(
    client: Any,
    table: str,
    booking_id: str,
    spec: faults.PerDelivery,
    context: Any,
    log: BoundLogger,
) -> None:
    """Apply the switch's per-delivery faults: fail the first deliveries, pause before writing.

    Deliveries are counted in a marker item (one atomic ADD per delivery), which also names
    the process (``pid``) and request of the latest one: that is how a test finds the paused
    process to kill.
    """
    delivery = None
    if spec.counts:
        counted = client.update_item(
            TableName=table,
            Key=store.fault_marker_key(booking_id),
            UpdateExpression="ADD deliveries :one SET itemType = :type, lastDeliveryAt = :now, "
            "pid = :pid, requestId = :request",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":type": {"S": store.FAULT_TYPE},
                ":now": {"S": clock.iso(clock.now())},
                ":pid": {"N": str(os.getpid())},
                ":request": {"S": str(getattr(context, "aws_request_id", ""))},
            },
            ReturnValues="UPDATED_NEW",
        )
        delivery = int(counted["Attributes"]["deliveries"]["N"])
    if delivery is not None and spec.fails(delivery):
        message = f"FAULT_INJECTION: failing delivery {delivery} of the first {spec.fail_first}"
        log.error("injected fault", error=message, delivery=delivery)
        raise faults.InjectedFault(message)
    if spec.pauses(delivery):
        log.warning(
            "fault switch: pausing before any write",
            seconds=spec.pause_seconds,
            delivery=delivery,
            pid=os.getpid(),
        )
        time.sleep(spec.pause_seconds)
        log.info("fault switch: pause over")


def _booking(request: FlightBooked, status: str, reason: str | None = None) -> store.Booking:
    return store.Booking(
        bookingId=request.bookingId,
        destination=request.destination,
        flightDate=request.flightDate,
        numberOfSeats=request.numberOfSeats,
        bookerEmail=request.bookerEmail,
        requestedAt=request.requestedAt,
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
