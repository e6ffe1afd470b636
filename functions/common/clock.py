"""UTC time in one place, in one string format.

All timestamps are ``YYYY-MM-DDTHH:MM:SS.mmm+00:00`` so that DynamoDB can compare them as
strings (the notification lease relies on that ordering).
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current UTC time (a function so tests can patch it)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Format a datetime as a fixed-width UTC ISO string."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def parse(text: str) -> datetime:
    """Parse an ISO time; a value without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
