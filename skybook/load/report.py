"""The JSON report of a run: what was sent and answered, what the app made of it, how fast,
and whether every check of :mod:`skybook.load.audit` passed (``ok``)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skybook.contract import CONFIRMED, NOTIFICATION_SENT, REJECTED
from skybook.load.driver import Outcome
from skybook.stats import summary


@dataclass(frozen=True)
class Timings:
    send_s: float  # first request sent -> last answer
    settle_s: float  # first request sent -> every accepted booking stored and mailed


def _wall(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def build(
    *,
    run_id: str,
    endpoint: str | None,
    parameters: dict[str, Any],
    outcomes: list[Outcome],
    bookings: dict[str, dict[str, Any]],
    stored: list[dict[str, Any]],
    checks: dict[str, dict[str, Any]],
    cpu: dict[str, Any],
    timings: Timings,
    warm_up: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``bookings`` are the accepted ones as last read (by id), ``stored`` every booking item
    of the run."""
    # Booking to email: the request left -> sendBookingReceipt recorded the email as sent; and
    # the part of it after the API's answer (how far the event flow lags behind the API).
    sent_at = {o.booking_id: o.sent_at for o in outcomes if o.booking_id}
    answered_at = {
        o.booking_id: o.sent_at + (o.latency_ms or 0) / 1000 for o in outcomes if o.booking_id
    }
    mailed_at = {
        i: _wall(b["notificationSentAt"])
        for i, b in bookings.items()
        if i in sent_at and b.get("notificationSentAt")
    }
    to_email = [(at - sent_at[i]) * 1000 for i, at in mailed_at.items()]
    answer_to_email = [(at - answered_at[i]) * 1000 for i, at in mailed_at.items()]
    completed = [b for b in bookings.values() if b.get("notification") == NOTIFICATION_SENT]
    first_sent = min((o.sent_at for o in outcomes), default=time.time())
    last_mail = max((_wall(b["notificationSentAt"]) for b in completed), default=first_sent)
    flow_s = max(last_mail - first_sent, 1e-9)

    statuses = Counter(str(o.status) for o in outcomes if o.status is not None)
    errors = Counter(o.error for o in outcomes if o.error)
    errors.update(f"http_{o.status}" for o in outcomes if o.status and o.status >= 500)
    refusals = Counter(
        f"{o.status} {o.body.get('message')}"
        for o in outcomes
        if o.status and 400 <= o.status < 500
    )
    by_status = Counter(b.get("status") for b in stored)
    return {
        "ok": all(c["pass"] for c in checks.values()),
        "run": run_id,
        "endpoint": endpoint,
        "parameters": parameters,
        "requests": {
            "sent": sum(1 for o in outcomes if o.latency_ms is not None),
            "byStatus": dict(sorted(statuses.items())),
            "refusals4xx": dict(refusals),
        },
        "bookings": {
            "accepted": len(sent_at),
            "confirmed": by_status.get(CONFIRMED, 0),
            "rejected": by_status.get(REJECTED, 0),
            "notified": len(completed),
        },
        "durationS": {"send": round(timings.send_s, 2), "untilSettled": round(timings.settle_s, 2)},
        "throughput": {
            "requestsPerS": round(len(outcomes) / max(timings.send_s, 1e-9), 2),
            "completedBookingsPerS": round(len(completed) / flow_s, 2),
        },
        "apiLatencyMs": summary(
            [o.latency_ms for o in outcomes if o.status is not None and o.latency_ms is not None]
        ),
        "bookingToEmailMs": summary(to_email) | {"source": "notificationSentAt"},
        "answerToEmailMs": summary(answer_to_email),
        "errors": dict(errors),
        "warmUp": warm_up,
        "cpu": cpu,
        "checks": checks,
    }
