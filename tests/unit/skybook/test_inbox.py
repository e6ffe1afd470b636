"""The inbox: captured messages as emails, rendered with their region's template or
carrying the reason they cannot be."""

from __future__ import annotations

import json
from typing import Any

import pytest

from skybook.handlebars import Template
from skybook.inbox import _to_email
from tests.unit.skybook.conftest import app_template as load


class FakeTemplates:
    """Stands in for SES GetTemplate: the app's receipt template, or a reason it is missing."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    def get(self, name: str, region: str | None) -> Template | str:
        self.asked.append((name, region))
        if name == "bookingReceiptTemplate":
            return load(name)
        return f"Template {name} does not exist (any more) in {region}"


def message(**fields: Any) -> dict[str, Any]:
    return {
        "Id": "m1",
        "Region": "eu-west-1",
        "Source": "bookings@skybook.local",
        "Destination": {"ToAddresses": ["a@example.com"]},
        "Timestamp": "2026-11-27T04:58:22",
        **fields,
    }


def test_a_templated_message_is_rendered_with_its_regions_template() -> None:
    data = {
        "destination": "LHR",
        "flightDate": "2026-12-01",
        "numberOfSeats": "1",
        "bookingId": "b",
    }
    templates = FakeTemplates()
    email = _to_email(
        message(Template="bookingReceiptTemplate", TemplateData=json.dumps(data)),
        templates,  # type: ignore[arg-type]
    )
    assert templates.asked == [("bookingReceiptTemplate", "eu-west-1")]
    assert (email.subject, email.error, email.data) == (
        "Your flight to LHR was booked!",
        None,
        data,
    )
    assert email.to_json()["to"] == ["a@example.com"]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            {"Template": "bookingReceiptTemplate", "TemplateData": '{"destination": "LHR"}'},
            "Attribute 'flightDate' is not present in the rendering data.",
        ),
        ({"Template": "gone", "TemplateData": "{}"}, "Template gone does not exist"),
        ({"Template": "bookingReceiptTemplate", "TemplateData": "[1]"}, "bad TemplateData"),
        ({"Template": "bookingReceiptTemplate", "TemplateData": "{"}, "bad TemplateData"),
    ],
)
def test_a_message_that_cannot_render_carries_the_reason(
    fields: dict[str, Any], error: str
) -> None:
    email = _to_email(message(**fields), FakeTemplates())  # type: ignore[arg-type]
    assert email.error is not None and email.error.startswith(error)
    assert (email.subject, email.html, email.text) == ("", None, None)


def test_a_plain_message_is_shown_as_sent() -> None:
    email = _to_email(
        message(Subject="Hi", Body={"text_part": "t", "html_part": "<b>h</b>"}),
        FakeTemplates(),  # type: ignore[arg-type]
    )
    assert (email.template, email.subject, email.text, email.html, email.error) == (
        None,
        "Hi",
        "t",
        "<b>h</b>",
        None,
    )


def test_the_ses_client_is_built_once_per_endpoint_and_region() -> None:
    """Polling the inbox must not rebuild a boto3 session each time (tens of ms)."""
    from skybook.inbox import _ses_client

    endpoint = "http://127.0.0.1:9"  # never contacted: building a client makes no call
    first = _ses_client(endpoint, "eu-west-1")
    assert _ses_client(endpoint, "eu-west-1") is first
    other_region = _ses_client(endpoint, "us-east-1")
    assert other_region is not first
    assert other_region.meta.region_name == "us-east-1"
    assert first.meta.region_name == "eu-west-1"
    assert first.meta.endpoint_url == endpoint
