"""A warm-up before the measured run: the same bookings at the same concurrency, on a flight
of their own, until they settled.

Why: a run that starts cold measures two things at once. Its first seconds are cold starts
(each function's environments, DynamoDB Local's JIT) and a burst of events from the first
20 bookings at once; the rest is the steady state under load. Percentiles over both describe
neither, and the first seconds decide the p95 of a 500-booking run. The warm-up's own
figures stay in the report (``warmUp``: what a cold start costs), and ``--warmup 0`` measures
from cold, as before. AWS shows cold starts too: the bench measures them alone.
"""

from __future__ import annotations

import random
import time
from typing import Any

from skybook.appdata import AppView
from skybook.load import books, driver, plan
from skybook.load.target import LoadError
from skybook.stats import summary

DEFAULT_WARMUP = 60


def warm_up(
    app: AppView, count: int, concurrency: int, deadline: float, rng: random.Random
) -> dict[str, Any]:
    """Send ``count`` bookings that cannot run out of seats, wait until each settled, and
    return what they measured (the audit never sees them: their run id is their own);
    :class:`LoadError` if they do not all settle."""
    run_id = f"warmup{rng.getrandbits(32):08x}"
    seats = count * max(plan.SEAT_CHOICES)
    flights = driver.seed_flights(app, 1, seats, rng)
    requests = plan.plan_requests(flights, count, run_id, rng)
    started = time.monotonic()
    outcomes = driver.send_all(app, requests, concurrency, deadline)
    accepted = [o.booking_id for o in outcomes if o.booking_id]
    _, settled = books.wait_settled(app, accepted, deadline)
    warmed = {
        "requests": count,
        "accepted": len(accepted),
        "settled": settled and len(accepted) == count,  # every one booked, mailed
        "durationS": round(time.monotonic() - started, 2),
        "apiLatencyMs": summary([o.latency_ms for o in outcomes if o.latency_ms is not None]),
    }
    if not warmed["settled"]:  # measuring on top of a broken app would mislead
        raise LoadError(f"the warm-up's bookings did not settle: {warmed}")
    return warmed
