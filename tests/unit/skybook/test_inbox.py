"""The SES (Handlebars) renderer behind the inbox: escaping, lookups, blocks, SES's errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skybook.inbox import RenderError, Template, _to_email, render, render_string

TEMPLATES = Path(__file__).resolve().parents[3] / "functions/send_booking_receipt/templates"


def load(name: str) -> Template:
    entry = next(
        e for e in json.loads((TEMPLATES / "templates.json").read_text()) if e["name"] == name
    )
    return Template(
        name=name,
        subject=entry["subject"],
        html=(TEMPLATES / entry["html"]).read_text(),
        text=(TEMPLATES / entry["text"]).read_text(),
    )


def test_double_stash_escapes_like_handlebars() -> None:
    out = render_string("<p>{{name}}</p>", {"name": "<script>alert('x')</script> & \"q\" `=`"})
    assert out == (
        "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot; "
        "&#x60;&#x3D;&#x60;</p>"
    )


def test_triple_stash_and_ampersand_are_raw() -> None:
    data = {"html": "<b>bold</b>"}
    assert render_string("{{{html}}}|{{& html}}|{{ html }}", data) == (
        "<b>bold</b>|<b>bold</b>|&lt;b&gt;bold&lt;/b&gt;"
    )


def test_nested_lookup_and_values_print_like_javascript() -> None:
    data: dict[str, Any] = {"a": {"b": {"c": "deep"}}, "n": 2, "f": 1.0, "t": True, "z": None}
    assert render_string("{{a.b.c}} {{this.n}} {{f}} {{t}} [{{z}}]", data) == "deep 2 1 true []"


@pytest.mark.parametrize(
    ("source", "name"),
    [("Hi {{name}}", "name"), ("{{a.missing}}", "a.missing"), ("{{{raw}}}", "raw")],
)
def test_missing_attribute_is_the_ses_error(source: str, name: str) -> None:
    with pytest.raises(RenderError) as error:
        render_string(source, {"a": {}})
    assert str(error.value) == f"Attribute '{name}' is not present in the rendering data."


def test_if_else_unless_and_missing_condition_is_false() -> None:
    source = "{{#if vip}}VIP{{else}}guest{{/if}}/{{#unless vip}}no{{/unless}}"
    assert render_string(source, {"vip": True}) == "VIP/"
    assert render_string(source, {"vip": []}) == "guest/no"
    assert render_string(source, {}) == "guest/no"
    assert render_string("{{#if o}}yes{{/if}}", {"o": {}}) == "yes"  # {} is truthy in JS


def test_each_over_lists_and_objects_with_locals() -> None:
    data = {"legs": [{"to": "LHR"}, {"to": "CDG"}], "m": {"x": 1}, "title": "T"}
    source = "{{#each legs}}{{@index}}:{{to}}{{#if @last}}.{{else}},{{/if}}{{/each}}"
    assert render_string(source, data) == "0:LHR,1:CDG."
    assert render_string("{{#each m}}{{@key}}={{this}} {{../title}}{{/each}}", data) == "x=1 T"
    assert render_string("{{#each none}}x{{else}}empty{{/each}}", {"none": []}) == "empty"


def test_comments_whitespace_control_and_escaped_braces() -> None:
    source = "a {{! note }}{{!-- {{x}} --}}b  {{~x~}}  c \\{{x}}"
    assert render_string(source, {"x": "X"}) == "a bXc {{x}}"


@pytest.mark.parametrize(
    "source", ["{{#if x}}open", "{{/if}}", "{{#if x}}{{/each}}", "{{> partial}}", "{{else}}"]
)
def test_malformed_templates_raise_render_error(source: str) -> None:
    with pytest.raises(RenderError):
        render_string(source, {"x": 1})


def test_the_apps_receipt_template_renders_the_booking() -> None:
    data = {
        "destination": "LHR",
        "flightDate": "2026-12-01",
        "numberOfSeats": "2",
        "bookingId": "0b7a1c56-3c1f-4a53-9b7e-0a1f2b3c4d5e",
    }
    rendered = render(load("bookingReceiptTemplate"), data)
    assert rendered.subject == "Your flight to LHR was booked!"
    assert "booked on 2026-12-01, for 2 person(s), to LHR!" in (rendered.html or "")
    assert "Booking reference: 0b7a1c56-3c1f-4a53-9b7e-0a1f2b3c4d5e" in (rendered.text or "")
    assert "{{" not in (rendered.html or "") + (rendered.text or "")


def test_the_apps_rejection_template_needs_the_reason() -> None:
    data = {
        "destination": "CDG",
        "flightDate": "2026-12-01",
        "numberOfSeats": "1",
        "bookingId": "x",
    }
    template = load("bookingRejectedTemplate")
    with pytest.raises(RenderError, match="Attribute 'reason' is not present"):
        render(template, data)
    rendered = render(template, {**data, "reason": "Not enough seats for this flight"})
    assert rendered.subject == "Your booking to CDG could not be completed"
    assert "to CDG: Not enough seats for this flight." in (rendered.text or "")


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


@pytest.mark.parametrize(
    ("outputs", "region"),
    [({"stack": "s", "region": "eu-west-1"}, "eu-west-1"), (None, "us-east-1")],
)
def test_the_console_reads_templates_in_the_stacks_region(
    monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any] | None, region: str
) -> None:
    """The console passes the deployed stack's region; before a deploy, the default one."""
    from skybook import inbox
    from skybook.console.server import ConsoleData

    asked: list[tuple[str, str | None, str]] = []

    def fetch(endpoint: str, *, to: str | None = None, region: str = "") -> list[Any]:
        asked.append((endpoint, to, region))
        return []

    monkeypatch.setattr(inbox, "fetch_emails", fetch)
    ConsoleData(endpoint="http://127.0.0.1:9/", outputs=outputs).inbox("a@example.com")
    assert asked == [("http://127.0.0.1:9", "a@example.com", region)]
