"""sendBookingReceipt: one email per booking, claim/lease, release on failure, templates."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from common import aws, clock, store
from send_booking_receipt import app

from tests.unit.functions.helpers import (
    SENDER,
    TABLE,
    TEMPLATES_DIR,
    Context,
    booking_item,
    json_lines,
    sent_emails,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ses import SESClient


def put_booking(ddb: DynamoDBClient, status: str = "CONFIRMED", **changes: Any) -> store.Booking:
    fields: dict[str, Any] = {
        "bookingId": str(uuid.uuid4()),
        "destination": "FCO",
        "flightDate": "2030-01-15",
        "numberOfSeats": 2,
        "bookerEmail": "ada@example.com",
        "requestedAt": "2030-01-01T10:00:00.000+00:00",
        "status": status,
        "createdAt": "2030-01-01T10:00:01.000+00:00",
        "reason": None if status == "CONFIRMED" else "Not enough seats for this flight",
        **changes,
    }
    booking = store.Booking(**fields)
    ddb.put_item(TableName=TABLE, Item=booking.to_item())
    return booking


def outcome_event(booking: store.Booking, detail_type: str | None = None) -> dict[str, Any]:
    if detail_type is None:
        detail_type = "bookingConfirmed" if booking.status == "CONFIRMED" else "bookingRejected"
    return {"source": "registerBooking", "detail-type": detail_type, "detail": booking.to_detail()}


def test_receipt_is_sent_once_and_recorded(
    ddb: DynamoDBClient, ses: SESClient, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    booking = put_booking(ddb)
    result = app.handler(outcome_event(booking), context)

    assert result["status"] == "SENT"
    assert result["template"] == "bookingReceiptTemplate"
    [email] = sent_emails()
    assert email.source == SENDER
    assert email.destinations == {"ToAddresses": ["ada@example.com"]}
    assert email.template == "bookingReceiptTemplate"
    assert json.loads(email.template_data) == {
        "destination": "FCO",
        "flightDate": "2030-01-15",
        "numberOfSeats": "2",
        "bookingId": booking.bookingId,
    }
    item = booking_item(ddb, booking.bookingId)
    assert item is not None
    assert item["notification"] == {"S": "SENT"}
    assert "notificationSentAt" in item and "notificationClaimedAt" in item

    lines = json_lines(capsys.readouterr().out)
    assert lines and all(line["bookingId"] == booking.bookingId for line in lines)


def test_second_delivery_is_skipped(
    ddb: DynamoDBClient, ses: SESClient, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    booking = put_booking(ddb)
    app.handler(outcome_event(booking), context)
    assert app.handler(outcome_event(booking), context) == {"status": "ALREADY_NOTIFIED"}
    assert len(sent_emails()) == 1
    messages = [line["message"] for line in json_lines(capsys.readouterr().out)]
    assert "already notified" in messages


def claim_held_by_another(ddb: DynamoDBClient, booking: store.Booking, until: datetime) -> None:
    ddb.update_item(
        TableName=TABLE,
        Key=store.booking_key(booking.bookingId),
        UpdateExpression="SET notification = :s, notificationClaimedAt = :t, "
        "notificationLeaseUntil = :u",
        ExpressionAttributeValues={
            ":s": {"S": "SENDING"},
            ":t": {"S": clock.iso(until - timedelta(seconds=10))},
            ":u": {"S": clock.iso(until)},
        },
    )


def test_claim_of_a_running_sender_is_respected_and_retried_later(
    ddb: DynamoDBClient, ses: SESClient, context: Context
) -> None:
    """Raising, not returning: if the holder crashed, Lambda's retry takes over after its
    lease; a "done" answer here would lose the email for good."""
    booking = put_booking(ddb)
    claim_held_by_another(ddb, booking, until=clock.now() + timedelta(seconds=1))
    with pytest.raises(app.ClaimHeld, match="being sent by another delivery"):
        app.handler(outcome_event(booking), context)
    assert sent_emails() == []


def test_claim_past_its_holders_deadline_is_taken_over(
    ddb: DynamoDBClient, ses: SESClient, context: Context
) -> None:
    booking = put_booking(ddb)
    claim_held_by_another(ddb, booking, until=clock.now() - timedelta(milliseconds=5))
    assert app.handler(outcome_event(booking), context)["status"] == "SENT"
    assert len(sent_emails()) == 1


class Killed(BaseException):
    """The process dies mid-send: no ``except Exception`` runs, the claim stays behind."""


@pytest.mark.parametrize("remaining_ms", [2_000, 7_500])
def test_lease_lasts_until_the_invocation_deadline(
    ddb: DynamoDBClient, ses: SESClient, monkeypatch: pytest.MonkeyPatch, remaining_ms: int
) -> None:
    booking = put_booking(ddb)
    start = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: start)

    def killed(**_: Any) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(aws.client("ses"), "send_templated_email", killed)
        with pytest.raises(Killed):
            app.handler(outcome_event(booking), Context(remaining_ms=remaining_ms))
    item = booking_item(ddb, booking.bookingId)
    assert item is not None and item["notification"] == {"S": "SENDING"}
    deadline = start + timedelta(milliseconds=remaining_ms)
    assert item["notificationClaimedAt"] == {"S": clock.iso(start)}
    assert item["notificationLeaseUntil"] == {"S": clock.iso(deadline)}

    # The retry: the claim holds while the crashed invocation could still run, not after.
    monkeypatch.setattr(clock, "now", lambda: deadline)
    retry = Context(remaining_ms=10_000)
    with pytest.raises(app.ClaimHeld):
        app.handler(outcome_event(booking), retry)
    monkeypatch.setattr(clock, "now", lambda: deadline + timedelta(milliseconds=1))
    assert app.handler(outcome_event(booking), retry)["status"] == "SENT"
    assert len(sent_emails()) == 1


def test_ses_failure_releases_claim_and_raises(
    ddb: DynamoDBClient, ses: SESClient, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking = put_booking(ddb)
    ses_client = aws.client("ses")

    def broken(**_: Any) -> None:
        raise ses_client.exceptions.MessageRejected(
            {"Error": {"Code": "MessageRejected", "Message": "nope"}}, "SendTemplatedEmail"
        )

    with monkeypatch.context() as patch:
        patch.setattr(ses_client, "send_templated_email", broken)
        with pytest.raises(ses_client.exceptions.MessageRejected):
            app.handler(outcome_event(booking), context)
    item = booking_item(ddb, booking.bookingId)
    assert item is not None
    assert not {"notification", "notificationClaimedAt", "notificationLeaseUntil"} & item.keys()

    assert app.handler(outcome_event(booking), context)["status"] == "SENT"  # the retry
    assert len(sent_emails()) == 1


def test_unverified_sender_error_is_raised(
    ddb: DynamoDBClient, ses: SESClient, context: Context, set_env: Callable[..., None]
) -> None:
    set_env(SENDER_EMAIL="nobody@unverified.example")
    booking = put_booking(ddb)
    with pytest.raises(Exception, match="not verified"):
        app.handler(outcome_event(booking), context)
    item = booking_item(ddb, booking.bookingId)
    assert item is not None and "notification" not in item


def test_rejection_uses_rejection_template_with_reason(
    ddb: DynamoDBClient, ses: SESClient, context: Context
) -> None:
    booking = put_booking(ddb, status="REJECTED")
    result = app.handler(outcome_event(booking), context)
    assert result["template"] == "bookingRejectedTemplate"
    [email] = sent_emails()
    assert email.template == "bookingRejectedTemplate"
    data = json.loads(email.template_data)
    assert data["reason"] == "Not enough seats for this flight"
    assert data["bookingId"] == booking.bookingId


def test_template_names_come_from_env(
    ddb: DynamoDBClient, ses: SESClient, context: Context, set_env: Callable[..., None]
) -> None:
    ses.create_template(
        Template={"TemplateName": "custom", "SubjectPart": "s", "TextPart": "t", "HtmlPart": "h"}
    )
    set_env(RECEIPT_TEMPLATE_NAME="custom")
    booking = put_booking(ddb)
    assert app.handler(outcome_event(booking), context)["template"] == "custom"


def test_confirmed_event_for_rejected_booking_is_dropped(
    ddb: DynamoDBClient, ses: SESClient, context: Context
) -> None:
    booking = put_booking(ddb, status="REJECTED")
    event = outcome_event(booking, "bookingConfirmed")
    assert app.handler(event, context) == {"status": "DROPPED"}
    assert sent_emails() == []


def test_unknown_booking_is_dropped(ddb: DynamoDBClient, ses: SESClient, context: Context) -> None:
    booking = store.Booking(
        bookingId=str(uuid.uuid4()),
        destination="FCO",
        flightDate="2030-01-15",
        numberOfSeats=1,
        bookerEmail="ada@example.com",
        requestedAt="x",
        status="CONFIRMED",
        createdAt="x",
    )
    assert app.handler(outcome_event(booking), context) == {"status": "DROPPED"}


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"detail-type": "flightBooked", "detail": {"bookingId": str(uuid.uuid4())}},
        {"detail-type": "bookingConfirmed", "detail": {"bookingId": "nope"}},
        {"detail-type": "bookingConfirmed", "detail": None},
    ],
)
def test_malformed_event_is_dropped(
    ddb: DynamoDBClient, ses: SESClient, context: Context, event: Any
) -> None:
    assert app.handler(event, context) == {"status": "DROPPED"}
    assert sent_emails() == []


def test_stored_booking_with_markup_is_not_mailed(
    ddb: DynamoDBClient, ses: SESClient, context: Context
) -> None:
    booking = put_booking(ddb, destination="<b>FCO</b>")
    assert app.handler(outcome_event(booking), context) == {"status": "DROPPED"}
    assert sent_emails() == []


def test_manifest_templates_render_with_handler_data(ses: SESClient) -> None:
    manifest = json.loads((TEMPLATES_DIR / "templates.json").read_text())
    assert [entry["name"] for entry in manifest] == [
        "bookingReceiptTemplate",
        "bookingRejectedTemplate",
    ]
    data = {
        "destination": "LHR",
        "flightDate": "2030-01-15",
        "numberOfSeats": "2",
        "bookingId": "b1",
        "reason": "Not enough seats for this flight",
    }
    receipt = ses.test_render_template(
        TemplateName="bookingReceiptTemplate", TemplateData=json.dumps(data)
    )["RenderedTemplate"]
    assert "Your flight to LHR was booked!" in receipt
    assert "Your flight was booked on 2030-01-15, for 2 person(s), to LHR!" in receipt
    rejected = ses.test_render_template(
        TemplateName="bookingRejectedTemplate", TemplateData=json.dumps(data)
    )["RenderedTemplate"]
    assert "Your booking to LHR could not be completed" in rejected
    assert "Not enough seats for this flight" in rejected
