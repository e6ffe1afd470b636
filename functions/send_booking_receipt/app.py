"""sendBookingReceipt: emails the booker once per booking outcome.

Triggered by ``bookingConfirmed`` (receipt) and ``bookingRejected`` (rejection notice).
The stored booking, not the event, is the source of truth for what is sent. Delivery is
at-least-once, so the email is guarded by a claim on the booking item:

1. claim: ``notification = SENDING`` if there is no notification yet, or if a previous
   claim's 30 s lease expired (its sender crashed);
2. send with SES v1 ``SendTemplatedEmail``; on failure release the claim and raise, so the
   async retry sends it;
3. mark ``notification = SENT``. If only this write fails the email is out: it is logged,
   not raised, because a retry would mail the booker twice.

Template data is sent unescaped (SES does not HTML-escape it). That is safe because every
value is checked again here with the same strict validators as the API (fixed destination
codes, digit dates, integer seats, UUID ids, addresses without markup characters) and the
rejection reason is one of registerBooking's fixed sentences; a stored booking that fails
the checks is logged and not mailed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from common import aws, clock, config, events, store
from common.log import BoundLogger, get_logger
from common.validation import (
    ValidationError,
    check_booking_id,
    check_destination,
    check_email,
    check_flight_date,
    check_number_of_seats,
)

LEASE = timedelta(seconds=30)
_EXPECTED_STATUS = {
    events.BOOKING_CONFIRMED: store.CONFIRMED,
    events.BOOKING_REJECTED: store.REJECTED,
}


def handler(event: Any, context: Any) -> dict[str, Any]:
    log = get_logger(context)
    cfg = config.get()
    table = cfg.need("table_name")
    sender = cfg.need("sender_email")

    received = events.envelope(event)
    detail_type, detail, raw_id = received.detail_type, received.detail, received.booking_id
    if raw_id:
        log = log.bind(bookingId=raw_id)
    if detail_type not in _EXPECTED_STATUS:
        log.error("dropping event of unexpected type", detailType=detail_type)
        return {"status": "DROPPED"}
    try:
        booking_id = check_booking_id(raw_id)
    except ValidationError as exc:
        log.error("dropping malformed booking event", error=exc.body, detail=detail)
        return {"status": "DROPPED"}

    dynamodb = aws.client("dynamodb")
    booking = store.get_booking(dynamodb, table, booking_id)
    if booking is None:
        log.error("dropping event: booking not found")
        return {"status": "DROPPED"}
    if booking.status != _EXPECTED_STATUS[detail_type]:
        log.error("dropping event: stored status does not match", status=booking.status)
        return {"status": "DROPPED"}
    try:
        template_data = _template_data(booking)
    except ValidationError as exc:
        log.error("dropping event: stored booking is not mailable", error=exc.body)
        return {"status": "DROPPED"}
    template = (
        cfg.receipt_template_name
        if booking.status == store.CONFIRMED
        else cfg.rejection_template_name
    )

    claimed_at = clock.iso(clock.now())
    if not _claim(dynamodb, table, booking_id, claimed_at, log):
        return {"status": "ALREADY_NOTIFIED"}
    try:
        response = aws.client("ses").send_templated_email(
            Source=sender,
            Destination={"ToAddresses": [booking.bookerEmail]},
            Template=template,
            TemplateData=json.dumps(template_data),
        )
    except Exception:
        log.exception("sending failed; releasing the claim", template=template)
        _release(dynamodb, table, booking_id, claimed_at, log)
        raise
    message_id = str(response.get("MessageId", ""))
    try:
        dynamodb.update_item(
            TableName=table,
            Key=store.booking_key(booking_id),
            UpdateExpression="SET notification = :sent, notificationSentAt = :at, "
            "notificationMessageId = :mid",
            ExpressionAttributeValues={
                ":sent": {"S": store.NOTIFICATION_SENT},
                ":at": {"S": clock.iso(clock.now())},
                ":mid": {"S": message_id},
            },
        )
    except Exception:
        log.exception("email sent but not recorded as SENT", messageId=message_id)
    log.info("booking email sent", template=template, status=booking.status, messageId=message_id)
    return {"status": "SENT", "messageId": message_id, "template": template}


def _template_data(booking: store.Booking) -> dict[str, str]:
    """The template variables, re-validated (they go into HTML unescaped).

    All values are strings: SES renders numbers fine, but moto's renderer (used by
    LocalStack's TestRenderTemplate, handy for previewing the inbox) fails on non-strings.
    """
    data: dict[str, str] = {
        "destination": check_destination(booking.destination),
        "flightDate": check_flight_date(booking.flightDate),
        "numberOfSeats": str(check_number_of_seats(booking.numberOfSeats)),
        "bookingId": check_booking_id(booking.bookingId),
    }
    check_email(booking.bookerEmail)
    if booking.status == store.REJECTED:
        if booking.reason not in store.REJECTION_REASONS:
            raise ValidationError("Invalid reason: not a known rejection reason", field="reason")
        data["reason"] = booking.reason
    return data


def _claim(client: Any, table: str, booking_id: str, claimed_at: str, log: BoundLogger) -> bool:
    """Take the notification lease; ``False`` if it was sent or is being sent elsewhere."""
    lease_expired = clock.iso(clock.parse(claimed_at) - LEASE)
    try:
        client.update_item(
            TableName=table,
            Key=store.booking_key(booking_id),
            UpdateExpression="SET notification = :sending, notificationClaimedAt = :now",
            ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(notification) OR "
            "(notification = :sending AND notificationClaimedAt < :expired))",
            ExpressionAttributeValues={
                ":sending": {"S": store.NOTIFICATION_SENDING},
                ":now": {"S": claimed_at},
                ":expired": {"S": lease_expired},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        current = store.get_item(client, table, store.booking_key(booking_id)) or {}
        log.info(
            "already notified",
            notification=current.get("notification", {}).get("S"),
            notificationClaimedAt=current.get("notificationClaimedAt", {}).get("S"),
        )
        return False
    return True


def _release(client: Any, table: str, booking_id: str, claimed_at: str, log: BoundLogger) -> None:
    """Give our claim back so the retry can send at once (only if it is still ours)."""
    try:
        client.update_item(
            TableName=table,
            Key=store.booking_key(booking_id),
            UpdateExpression="REMOVE notification, notificationClaimedAt",
            ConditionExpression="notification = :sending AND notificationClaimedAt = :mine",
            ExpressionAttributeValues={
                ":sending": {"S": store.NOTIFICATION_SENDING},
                ":mine": {"S": claimed_at},
            },
        )
    except Exception:
        # The lease expires on its own; the original error matters more.
        log.exception("could not release the notification claim")
