"""bookFlight: POST /book-flight (API Gateway REST, Lambda proxy).

Validates the request, checks the flight for a fast 404/400, then publishes
``flightBooked`` with a fresh bookingId and answers 200 at once; registerBooking makes the
real, conditional seat decrement. The seat check here is advisory only (it can race).
Client errors are always 4xx JSON; anything unexpected is logged and answered 500/503,
never left to API Gateway's bare 502.
"""

from __future__ import annotations

import uuid
from typing import Any

from common import aws, clock, events, store
from common.invocation import Invocation, lambda_handler
from common.responses import error, json_response
from common.validation import ValidationError, parse_booking_request

# Error codes that mean "try again later" rather than "we have a bug".
_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalServerError",
    "InternalFailure",
}


@lambda_handler
def handler(call: Invocation) -> dict[str, Any]:
    log = call.log
    if not isinstance(call.event, dict):
        log.error("not an API Gateway proxy event", eventType=type(call.event).__name__)
        return error(400, "Bad request")
    try:
        request = parse_booking_request(call.event)
    except ValidationError as exc:
        log.info("booking request rejected", status=exc.status, response=exc.body)
        return error(exc.status, exc.message, **exc.extra)

    try:
        table = call.config.need("table_name")
        bus = call.config.need("event_bus_name")
        flight = store.get_item(
            aws.client("dynamodb"), table, store.flight_key(request.destination, request.flightDate)
        )
        seats = store.available_seats(flight)
        if seats is None:
            log.info("flight not found", destination=request.destination, date=request.flightDate)
            return error(404, "Flight not found")
        if seats < request.numberOfSeats:
            log.info("not enough seats", availableSeats=seats, requested=request.numberOfSeats)
            return error(400, "Not enough seats for this flight")

        booking_id = str(uuid.uuid4())
        log = log.bind(bookingId=booking_id)
        detail = {
            "bookingId": booking_id,
            "destination": request.destination,
            "flightDate": request.flightDate,
            "numberOfSeats": request.numberOfSeats,
            "bookerEmail": request.bookerEmail,
            "requestedAt": clock.iso(clock.now()),
        }
        event_id = events.put_event(
            aws.client("events"), bus, events.SOURCE_BOOK_FLIGHT, events.FLIGHT_BOOKED, detail
        )
    except Exception as exc:
        log.exception("booking request failed", errorCode=aws.error_code(exc))
        if aws.error_code(exc) in _UNAVAILABLE_CODES or isinstance(exc, events.PublishError):
            return error(503, "Service temporarily unavailable, please retry")
        return error(500, "Internal error")

    log.info(
        "booking requested",
        eventId=event_id,
        destination=request.destination,
        flightDate=request.flightDate,
        numberOfSeats=request.numberOfSeats,
    )
    return json_response(200, {"message": "Processing flight booking", "bookingId": booking_id})
