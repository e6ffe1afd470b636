"""A small load run through skybook.load against the session's app: the books must balance.

The same functions as ``./scripts/load`` (seed, send, settle, audit), scaled down so the
suite stays fast; timings are printed by the tool, never asserted. That the audit catches
each violation is a unit test (tests/unit/skybook/test_load.py): it needs no sandbox.
"""

from __future__ import annotations

import pytest

from skybook.load.run import run_load
from skybook.load.target import aim
from tests.e2e.conftest import App

pytestmark = pytest.mark.sandbox


@pytest.mark.slow
def test_small_load_run_keeps_every_invariant(app: App) -> None:
    target = aim(app.sandbox.endpoint, app.outputs)
    # 5 flights x 8 seats for ~120 seats requested: the last seats of each flight are raced.
    report = run_load(
        target, requests=60, concurrency=10, flights=5, seats=8, timeout=240, warmup=10
    )

    failed = {name: check for name, check in report["checks"].items() if not check["pass"]}
    assert not failed, failed
    assert report["ok"] is True
    bookings = report["bookings"]
    assert bookings["accepted"] == report["requests"]["byStatus"].get("200", 0)
    assert bookings["confirmed"] + bookings["rejected"] == bookings["accepted"]
    assert bookings["notified"] == bookings["accepted"]
    # Demand exceeds capacity: every flight sold out or nearly, never beyond.
    sold = report["checks"]["no_overbooking"]["seatsSold"]
    assert 0 < sold <= 5 * 8
    assert report["requests"]["sent"] == 60  # the warm-up's are reported apart
    warmed = report["warmUp"]
    assert warmed["requests"] == warmed["accepted"] == 10 and warmed["settled"] is True
    assert report["apiLatencyMs"]["p50"] is not None
