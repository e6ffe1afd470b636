"""One load run, start to end: plan, seed, send, wait, read back, audit, report."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from skybook.appdata import AppView
from skybook.load import audit, books, driver, plan, report
from skybook.load.cpu import CpuMeter
from skybook.load.target import LoadError
from skybook.load.warmup import DEFAULT_WARMUP, warm_up


def run_load(
    app: AppView,
    *,
    requests: int = plan.DEFAULT_REQUESTS,
    concurrency: int = plan.DEFAULT_CONCURRENCY,
    flights: int = plan.DEFAULT_FLIGHTS,
    seats: int | None = None,
    oversubscription: float = plan.DEFAULT_OVERSUBSCRIPTION,
    timeout: float = plan.DEFAULT_TIMEOUT,
    seed: int | None = None,
    warmup: int = DEFAULT_WARMUP,
    progress: Callable[[str], None] | None = None,
    watch: dict[str, int] | None = None,
    on_settled: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run the load against ``app`` (from :func:`skybook.load.target.aim`) and return the
    JSON-able report (``ok`` says it all). ``warmup`` bookings go first, measured apart
    (:mod:`skybook.load.warmup`).

    ``watch`` names processes (e.g. ``{"localstack": pid}``) whose CPU use is reported;
    ``on_settled`` is called once every booking settled, before the books are read back for
    the audit (a profiler stops there: the audit's reads are not the app's work)."""
    say = progress or (lambda _msg: None)
    if requests < 1 or concurrency < 1 or flights < 1 or warmup < 0:
        raise LoadError("requests, concurrency and flights must be at least 1, warmup 0 or more")
    deadline = time.monotonic() + timeout
    run_id = uuid.uuid4().hex[:10]
    rng = random.Random(seed)
    per_flight = seats or plan.seats_per_flight(requests, flights, oversubscription)
    planned = driver.seed_flights(app, flights, per_flight, rng)
    requested = plan.plan_requests(planned, requests, run_id, rng)
    warmed = None
    if warmup:
        say(f"warm-up: {warmup} bookings at concurrency {concurrency}, not measured")
        warmed = warm_up(app, warmup, concurrency, deadline, rng)
    say(f"run {run_id}: {requests} bookings over {flights} flights x {per_flight} seats")

    meter = CpuMeter(watch)
    started = time.monotonic()
    outcomes = driver.send_all(app, requested, concurrency, deadline)
    send_s = time.monotonic() - started
    say(f"sent in {send_s:.1f}s; waiting for bookings and emails to settle")
    accepted_ids = [o.booking_id for o in outcomes if o.booking_id]
    bookings, settled = books.wait_settled(app, accepted_ids, deadline)
    settle_s = time.monotonic() - started
    cpu = meter.report()
    if on_settled is not None:
        on_settled()
    say(f"settled after {settle_s:.1f}s; reading the books back for the audit")
    stored = books.scan_run_bookings(app, run_id)
    mail = books.run_mail(app, {o.request.email for o in outcomes})
    seats_after = books.read_seats(app, planned)
    checks = audit.audit(outcomes, planned, seats_after, stored, mail, settled)
    return report.build(
        run_id=run_id,
        endpoint=app.endpoint,
        parameters={
            "requests": requests,
            "concurrency": concurrency,
            "flights": flights,
            "seatsPerFlight": per_flight,
            "seatChoices": list(plan.SEAT_CHOICES),
            "timeoutS": timeout,
            "warmup": warmup,
        },
        warm_up=warmed,
        outcomes=outcomes,
        bookings=bookings,
        stored=stored,
        checks=checks,
        cpu=cpu,
        timings=report.Timings(send_s=send_s, settle_s=settle_s),
    )
