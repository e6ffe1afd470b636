"""How the app's records read as text: a booking, an email, a log line, a bus event.

Shared by the commands that show them (``book``, ``inbox``, ``logs``, ``events``); tables
and JSON are :mod:`skybook.commands.output`'s.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from skybook import appdata, inbox
from skybook.commands.output import clock, indent

_HIDDEN_FIELDS = {"timestamp", "level", "message", "function", "awsRequestId", "traceback"}


def booking_line(b: appdata.Booking) -> str:
    line = f"booking {b.id}: {b.status}  {b.destination} {b.date}  {b.seats} seat(s)  {b.email}"
    return line + (f"  ({b.reason})" if b.reason else "")


def email_text(email: inbox.Email, *, html: bool = False) -> str:
    head = f"{email.timestamp}  to {', '.join(email.to)}  from {email.source}"
    if email.template:
        head += f"  [{email.template}]"
    if email.error:
        return f"{head}\n  render failed: {email.error}"
    body = email.html if html else (email.text if email.text is not None else email.html)
    return f"{head}\nSubject: {email.subject}\n\n{indent((body or '').rstrip())}"


def _line_time(line: appdata.LogLine, fields: dict[str, Any]) -> str:
    """The time the function wrote the line (CloudWatch's is when the batch arrived)."""
    try:
        written = datetime.fromisoformat(str(fields["timestamp"]))
    except (KeyError, ValueError):
        return clock(line.timestamp)
    return clock(int(written.timestamp() * 1000))


def log_text(line: appdata.LogLine) -> str:
    fields = line.fields
    if fields is None:
        return f"{clock(line.timestamp)}  {line.message}"
    extra = " ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v)}"
        for k, v in fields.items()
        if k not in _HIDDEN_FIELDS
    )
    text = f"{_line_time(line, fields)}  {fields.get('level', ''):<5}  {fields.get('message', '')}"
    text += f"  {extra}" if extra else ""
    if isinstance(fields.get("traceback"), str):
        text += "\n" + indent(fields["traceback"].rstrip(), "    ")
    return text


def event_ms(event: dict[str, Any]) -> int:
    try:
        return int(datetime.fromisoformat(str(event["time"])).timestamp() * 1000)
    except (KeyError, ValueError):
        return 0


def event_text(event: dict[str, Any]) -> str:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        detail = {}
    when = datetime.fromtimestamp(event_ms(event) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    parts = [
        str(detail.get(k))
        for k in ("destination", "flightDate", "bookerEmail", "status", "reason")
        if detail.get(k) is not None
    ]
    if "numberOfSeats" in detail:
        parts.insert(2, f"{detail['numberOfSeats']} seat(s)")
    return (
        f"{when}  {event.get('source', ''):<15}  {event.get('detail-type', ''):<16}  "
        f"{detail.get('bookingId', '-'):<36}  {'  '.join(parts)}"
    ).rstrip()
