"""The SES (Handlebars) renderer behind the inbox: escaping, lookups, blocks, SES's errors."""

from __future__ import annotations

from typing import Any

import pytest

from skybook.handlebars import RenderError, render, render_string
from tests.unit.skybook.conftest import app_template as load


def test_values_are_inserted_unescaped_as_ses_does() -> None:
    """Unlike Handlebars.js, SES does not HTML-escape ``{{name}}`` (AWS's SES developer guide,
    "Advanced email personalization"): every form inserts the value as it is."""
    value = "<script>alert('x')</script> & \"q\" `=`"
    assert render_string("<p>{{name}}</p>", {"name": value}) == f"<p>{value}</p>"
    data = {"html": "<b>bold</b>"}
    assert render_string("{{{html}}}|{{& html}}|{{ html }}", data) == (
        "<b>bold</b>|<b>bold</b>|<b>bold</b>"
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
