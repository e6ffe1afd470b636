"""A small load run through skybook.load against the session's app: the books must balance.

The same functions as ``./scripts/load`` (seed, send, settle, audit), scaled down so the
suite stays fast; timings are printed by the tool, never asserted.
"""

from __future__ import annotations

from typing import Any

import pytest

from skybook.load import (
    BookingRequest,
    Flight,
    LoadError,
    Outcome,
    Target,
    audit,
    require_loopback,
    run_load,
)
from tests.e2e.conftest import App

pytestmark = pytest.mark.sandbox


def test_small_load_run_keeps_every_invariant(app: App) -> None:
    target = Target(app.sandbox.endpoint, app.outputs)
    # 5 flights x 8 seats for ~120 seats requested: the last seats of each flight are raced.
    report = run_load(target, requests=60, concurrency=10, flights=5, seats=8, timeout=240)

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
    assert report["requests"]["sent"] == 60
    assert report["apiLatencyMs"]["p50"] is not None


# --- the audit bites (no sandbox needed) ---------------------------------------------------


def _outcome(
    index: int, flight: Flight, seats: int, status: int, booking_id: str | None
) -> Outcome:
    request = BookingRequest(index, flight, seats, f"load-t-{index}@example.com")
    body = {"bookingId": booking_id} if booking_id else {"message": "Not enough seats"}
    return Outcome(request, sent_at=0.0, latency_ms=1.0, status=status, body=body)


def _booking(outcome: Outcome, status: str) -> dict[str, Any]:
    r = outcome.request
    return {
        "bookingId": outcome.booking_id,
        "destination": r.flight.destination,
        "flightDate": r.flight.date,
        "numberOfSeats": r.seats,
        "bookerEmail": r.email,
        "status": status,
    }


def _mail(to: str, template: str) -> dict[str, Any]:
    return {"Destination": {"ToAddresses": [to]}, "Template": template}


def _failed(checks: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, check in checks.items() if not check["pass"]}


def test_audit_passes_balanced_books_and_catches_each_violation() -> None:
    flight = Flight("LHR", "2100-01-01", 3)
    ok1 = _outcome(0, flight, 2, 200, "b1")
    ok2 = _outcome(1, flight, 2, 200, "b2")
    refused = _outcome(2, flight, 1, 400, None)
    outcomes = [ok1, ok2, refused]
    stored = [_booking(ok1, "CONFIRMED"), _booking(ok2, "REJECTED")]
    mail = [
        _mail(ok1.request.email, "bookingReceiptTemplate"),
        _mail(ok2.request.email, "bookingRejectedTemplate"),
    ]
    seats = {flight: 1}
    assert _failed(audit(outcomes, [flight], seats, stored, mail, True)) == set()

    overbooked = [_booking(ok1, "CONFIRMED"), _booking(ok2, "CONFIRMED")]
    assert "no_overbooking" in _failed(audit(outcomes, [flight], seats, overbooked, mail, True))
    assert "no_overbooking" in _failed(
        audit(outcomes, [flight], {flight: 2}, stored, mail, True)  # seats do not add up
    )
    lost = audit(outcomes, [flight], {flight: 1}, stored[:1], mail, True)
    assert "no_lost_events" in _failed(lost)
    twice = [*mail, _mail(ok1.request.email, "bookingReceiptTemplate")]
    assert "one_receipt_per_confirmed" in _failed(
        audit(outcomes, [flight], seats, stored, twice, True)
    )
    assert "one_notice_per_rejected" in _failed(
        audit(outcomes, [flight], seats, stored, mail[:1], True)
    )
    spurious = [*mail, _mail(refused.request.email, "bookingReceiptTemplate")]
    assert "no_mail_for_refused_requests" in _failed(
        audit(outcomes, [flight], seats, stored, spurious, True)
    )
    crashed = [*outcomes, _outcome(3, flight, 1, 502, None)]
    assert "no_5xx_or_transport_error" in _failed(
        audit(crashed, [flight], seats, stored, mail, True)
    )
    assert _failed(audit(outcomes, [flight], seats, stored, mail, False)) == {
        "settled_before_deadline"
    }


@pytest.mark.parametrize("url", ["http://10.0.0.5:4566", "http://example.com", "http://[::2]:1"])
def test_load_refuses_targets_off_loopback(url: str) -> None:
    with pytest.raises(LoadError):
        require_loopback(url)
    for fine in (
        "http://127.0.0.1:4566",
        "http://localhost:1",
        "http://127.8.9.1",
        "http://[::1]:2",
    ):
        require_loopback(fine)
