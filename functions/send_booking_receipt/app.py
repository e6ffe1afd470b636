"""sendBookingReceipt: emails the booker once per booking outcome.

Triggered by ``bookingConfirmed`` (receipt) and ``bookingRejected`` (rejection notice).
The stored booking, not the event, is the source of truth for what is sent. Delivery is
at-least-once, so the email is guarded by a claim on the booking item:

1. claim: ``notification = SENDING`` if there is no notification yet, or if a previous
   claim's lease expired (its sender crashed; see :func:`_claim`). Already SENT: done. Claimed
   by a sender whose lease still runs: raise :class:`ClaimHeld`, so Lambda retries later and
   the retry finds the email sent, or the lease of a crashed sender expired and takes over
   (returning "done" here would lose the email whenever the holder crashed);
2. send with SES v1 ``SendTemplatedEmail``; on failure release the claim and raise, so the
   async retry sends it;
3. mark ``notification = SENT``. If only this write fails the email is out: it is logged,
   not raised, because a retry would mail the booker twice.

SES does not HTML-escape template data, so ``{{name}}`` inserts a value as it is: "SES
doesn't escape HTML content when rendering the HTML template for a message" (SES developer
guide, https://docs.aws.amazon.com/ses/latest/dg/send-personalized-email-advanced.html).
Our values are safe as they are because every one is checked again here with the same
strict validators as the API (fixed destination codes, digit dates, integer seats, UUID
ids, addresses without markup characters) and the rejection reason is one of
registerBooking's fixed sentences; a stored booking that fails the checks is logged and
not mailed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from common import aws, clock, events, store
from common.invocation import Dropped, Invocation, lambda_handler
from common.log import BoundLogger
from common.validation import (
    ValidationError,
    check_booking_id,
    check_destination,
    check_email,
    check_flight_date,
    check_number_of_seats,
)


class ClaimHeld(RuntimeError):
    """Another delivery holds the email's claim and its lease still runs: retry later."""


_EXPECTED_STATUS = {
    events.BOOKING_CONFIRMED: store.CONFIRMED,
    events.BOOKING_REJECTED: store.REJECTED,
}


@lambda_handler
def handler(call: Invocation) -> dict[str, Any]:
    table = call.config.need("table_name")
    sender = call.config.need("sender_email")
    dynamodb = aws.client("dynamodb")
    booking = _stored_booking(dynamodb, table, call.envelope)
    template_data = _template_data(booking)
    template = (
        call.config.receipt_template_name
        if booking.status == store.CONFIRMED
        else call.config.rejection_template_name
    )

    claimed_at = clock.now()
    if not _claim(dynamodb, table, booking.bookingId, claimed_at, call.deadline(), call.log):
        return {"status": "ALREADY_NOTIFIED"}
    try:
        response = aws.client("ses").send_templated_email(
            Source=sender,
            Destination={"ToAddresses": [booking.bookerEmail]},
            Template=template,
            TemplateData=json.dumps(template_data),
        )
    except Exception:
        call.log.exception("sending failed; releasing the claim", template=template)
        _release(dynamodb, table, booking.bookingId, clock.iso(claimed_at), call.log)
        raise
    message_id = str(response.get("MessageId", ""))
    try:
        dynamodb.update_item(
            TableName=table,
            Key=store.booking_key(booking.bookingId),
            UpdateExpression="SET notification = :sent, notificationSentAt = :at, "
            "notificationMessageId = :mid",
            ExpressionAttributeValues={
                ":sent": {"S": store.NOTIFICATION_SENT},
                ":at": {"S": clock.iso(clock.now())},
                ":mid": {"S": message_id},
            },
        )
    except Exception:
        call.log.exception("email sent but not recorded as SENT", messageId=message_id)
    call.log.info(
        "booking email sent", template=template, status=booking.status, messageId=message_id
    )
    return {"status": "SENT", "messageId": message_id, "template": template}


def _stored_booking(client: Any, table: str, received: events.Envelope) -> store.Booking:
    """The booking the event is about, as stored; Dropped when there is none to mail."""
    if received.detail_type not in _EXPECTED_STATUS:
        raise Dropped("dropping event of unexpected type", detailType=received.detail_type)
    try:
        booking_id = check_booking_id(received.booking_id)
    except ValidationError as exc:
        raise Dropped(
            "dropping malformed booking event", error=exc.body, detail=received.detail
        ) from None
    booking = store.get_booking(client, table, booking_id)
    if booking is None:
        raise Dropped("dropping event: booking not found")
    if booking.status != _EXPECTED_STATUS[received.detail_type]:
        raise Dropped("dropping event: stored status does not match", status=booking.status)
    return booking


def _template_data(booking: store.Booking) -> dict[str, str]:
    """The template variables, re-validated because SES puts them into the HTML unescaped;
    Dropped when the stored booking fails the checks.

    All values are strings: SES renders numbers fine, but moto's renderer (used by
    LocalStack's TestRenderTemplate, handy for previewing the inbox) fails on non-strings.
    """
    try:
        data: dict[str, str] = {
            "destination": check_destination(booking.destination),
            "flightDate": check_flight_date(booking.flightDate),
            "numberOfSeats": str(check_number_of_seats(booking.numberOfSeats)),
            "bookingId": check_booking_id(booking.bookingId),
        }
        check_email(booking.bookerEmail)
        if booking.status == store.REJECTED:
            if booking.reason not in store.REJECTION_REASONS:
                raise ValidationError(
                    "Invalid reason: not a known rejection reason", field="reason"
                )
            data["reason"] = booking.reason
    except ValidationError as exc:
        raise Dropped("dropping event: stored booking is not mailable", error=exc.body) from None
    return data


def _claim(
    client: Any,
    table: str,
    booking_id: str,
    claimed_at: datetime,
    deadline: datetime,
    log: BoundLogger,
) -> bool:
    """Take the notification lease; ``False`` if the email was sent already, and
    :class:`ClaimHeld` while another delivery's lease on it still runs.

    The lease lasts until this invocation's deadline (now + the context's remaining time),
    not a fixed time, because it must do two things. It must not expire while the invocation
    that holds it still runs, or a concurrent delivery would mail the booker a second time;
    Lambda stops the holder by its deadline at the latest. And the claim of an invocation
    that crashed must have expired by the time Lambda retries it, or the retry would find it
    taken and the email would never go out; Lambda retries only after the failed invocation
    ended, about a minute later (on AWS and in LocalStack by default), which is past the
    holder's deadline as long as the function's timeout is shorter than that.
    """
    now = clock.iso(claimed_at)
    try:
        client.update_item(
            TableName=table,
            Key=store.booking_key(booking_id),
            UpdateExpression="SET notification = :sending, notificationClaimedAt = :now, "
            "notificationLeaseUntil = :until",
            ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(notification) OR "
            "(notification = :sending AND notificationLeaseUntil < :now))",
            ExpressionAttributeValues={
                ":sending": {"S": store.NOTIFICATION_SENDING},
                ":now": {"S": now},
                ":until": {"S": clock.iso(deadline)},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        current = store.get_item(client, table, store.booking_key(booking_id)) or {}
        state = {
            name: current.get(name, {}).get("S")
            for name in ("notification", "notificationClaimedAt", "notificationLeaseUntil")
        }
        if state["notification"] == store.NOTIFICATION_SENDING:
            log.info("another delivery holds the claim; failing so Lambda retries", **state)
            raise ClaimHeld(
                f"the email of booking {booking_id} is being sent by another delivery "
                f"(lease until {state['notificationLeaseUntil']}): retry later"
            ) from None
        log.info("already notified", **state)
        return False
    return True


def _release(client: Any, table: str, booking_id: str, claimed_at: str, log: BoundLogger) -> None:
    """Give our claim back so the retry can send at once (only if it is still ours)."""
    try:
        client.update_item(
            TableName=table,
            Key=store.booking_key(booking_id),
            UpdateExpression="REMOVE notification, notificationClaimedAt, notificationLeaseUntil",
            ConditionExpression="notification = :sending AND notificationClaimedAt = :mine",
            ExpressionAttributeValues={
                ":sending": {"S": store.NOTIFICATION_SENDING},
                ":mine": {"S": claimed_at},
            },
        )
    except Exception:
        # The lease expires on its own; the original error matters more.
        log.exception("could not release the notification claim")
