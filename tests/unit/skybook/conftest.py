"""Helpers for the kit's unit tests."""

from __future__ import annotations

import json
from pathlib import Path

from skybook.handlebars import Template

TEMPLATES = Path(__file__).resolve().parents[3] / "functions/send_booking_receipt/templates"


def app_template(name: str) -> Template:
    """One of the app's SES templates, as its manifest describes it (and bootstrap deploys it)."""
    entry = next(
        e for e in json.loads((TEMPLATES / "templates.json").read_text()) if e["name"] == name
    )
    return Template(
        name=name,
        subject=entry["subject"],
        html=(TEMPLATES / entry["html"]).read_text(),
        text=(TEMPLATES / entry["text"]).read_text(),
    )
