"""The rendered inbox on a real sandbox: real receipts, render failures, plain emails."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import botocore.exceptions
import pytest

from skybook.cli import main
from skybook.inbox import Email, fetch_emails
from tests.e2e.conftest import App, unique_date, unique_email, wait_for

pytestmark = pytest.mark.sandbox
MISSING_FLIGHT_DATE = "Attribute 'flightDate' is not present in the rendering data."


def inbox(app: App, to: str) -> list[Email]:
    return fetch_emails(app.sandbox.endpoint, to=to)


def test_a_real_receipt_is_rendered(app: App) -> None:
    flight_date, email = unique_date(), unique_email("inbox")
    app.seed_flight("AMS", flight_date, 3)
    answer = app.book("AMS", flight_date, 2, email)
    assert answer.status == 200, answer.body
    booking_id = answer.body["bookingId"]

    [mail] = wait_for(lambda: inbox(app, email), what="the receipt in the inbox")
    assert mail.error is None
    assert mail.template == "bookingReceiptTemplate"
    assert mail.to == (email,)
    assert mail.source == app.outputs["senderEmail"]
    assert mail.data == {
        "destination": "AMS",
        "flightDate": flight_date,
        "numberOfSeats": "2",
        "bookingId": booking_id,
    }
    assert mail.subject == "Your flight to AMS was booked!"
    assert f"<p>Your flight was booked on {flight_date}, for 2 person(s), to AMS!</p>" in (
        mail.html or ""
    )
    assert f"Booking reference: {booking_id}" in (mail.text or "")
    assert "{{" not in (mail.html or "") + (mail.text or "")
    assert mail.to_json()["to"] == [email]


def test_missing_attribute_shows_the_ses_error(app: App, tmp_path: Path) -> None:
    ses = app.sandbox.client("ses")
    email = unique_email("broken")
    ses.send_templated_email(
        Source=app.outputs["senderEmail"],
        Destination={"ToAddresses": [email]},
        Template="bookingReceiptTemplate",
        TemplateData=json.dumps({"destination": "LHR"}),
    )
    [mail] = wait_for(lambda: inbox(app, email), what="the message in the inbox")
    assert mail.error == MISSING_FLIGHT_DATE
    assert (mail.subject, mail.html, mail.text) == ("", None, None)
    # The same sentence SES (here LocalStack's TestRenderTemplate) gives for that data.
    with pytest.raises(botocore.exceptions.ClientError) as error:
        ses.test_render_template(
            TemplateName="bookingReceiptTemplate", TemplateData=json.dumps({"destination": "LHR"})
        )
    assert MISSING_FLIGHT_DATE in str(error.value)

    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        aim = ["--endpoint", app.sandbox.endpoint, "--stack-name", str(app.outputs["stack"])]
        code = main(["inbox", "--to", email, *aim])
    assert code == 0
    assert f"render failed: {MISSING_FLIGHT_DATE}" in out.getvalue()


def test_plain_email_is_shown_as_sent(app: App) -> None:
    email = unique_email("plain")
    app.sandbox.client("ses").send_email(
        Source=app.outputs["senderEmail"],
        Destination={"ToAddresses": [email]},
        Message={
            "Subject": {"Data": "Hello <there>"},
            "Body": {"Text": {"Data": "plain text"}, "Html": {"Data": "<b>html</b>"}},
        },
    )
    [mail] = wait_for(lambda: inbox(app, email.upper()), what="the plain email")
    assert (mail.template, mail.error) == (None, None)
    assert (mail.subject, mail.text, mail.html) == ("Hello <there>", "plain text", "<b>html</b>")
