"""The load tool without a sandbox: the audit catches each violation, and only loopback is a
target. (A real run against the session's app is tests/e2e/test_load.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from skybook.contract import NOTIFICATION_SENT
from skybook.load import report
from skybook.load.__main__ import main as load_main
from skybook.load.audit import audit
from skybook.load.cpu import CpuMeter
from skybook.load.driver import Outcome
from skybook.load.plan import BookingRequest, Flight
from skybook.load.target import LoadError, aim, require_loopback


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


def test_only_an_app_on_loopback_with_its_api_on_loopback_is_aimed_at() -> None:
    local = {"bookFlightUrl": "http://127.0.0.1:4566/restapis/x/local/_user_request_/book-flight"}
    assert aim("http://127.0.0.1:4566", local).endpoint == "http://127.0.0.1:4566"
    with pytest.raises(LoadError):
        aim("http://127.0.0.1:4566", {"bookFlightUrl": "https://x.execute-api.amazonaws.com/b"})
    with pytest.raises(LoadError):
        aim("http://10.0.0.5:4566", local)


def test_without_event_log_is_refused_for_a_running_sandbox(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        load_main(["--without-event-log", "--endpoint", "http://127.0.0.1:4566"])
    assert stopped.value.code == 2
    assert "only applies to the load's own sandbox" in capsys.readouterr().err


def test_report_times_the_email_from_the_request_and_from_the_apis_answer() -> None:
    flight = Flight("LHR", "2031-01-01", 10)
    first, second = _outcome(0, flight, 1, 200, "b1"), _outcome(1, flight, 1, 200, "b2")
    first.sent_at, first.latency_ms = 1000.0, 300.0  # answered at 1000.3
    second.sent_at, second.latency_ms = 1001.0, 500.0  # answered at 1001.5
    mailed = {"b1": "1970-01-01T00:16:41+00:00", "b2": "1970-01-01T00:16:42+00:00"}  # 1001, 1002
    sent = NOTIFICATION_SENT
    bookings = {b: {"notification": sent, "notificationSentAt": at} for b, at in mailed.items()}
    built = report.build(
        run_id="r",
        endpoint=None,
        parameters={},
        outcomes=[first, second],
        bookings=bookings,
        stored=[],
        checks={},
        cpu={},
        timings=report.Timings(send_s=2.0, settle_s=2.0),
    )
    assert built["bookingToEmailMs"]["max"] == 1000.0
    assert built["answerToEmailMs"]["p50"] == 500.0 and built["answerToEmailMs"]["max"] == 700.0


def test_the_cpu_report_names_each_watched_process_share_and_cpus() -> None:
    """The load report says how busy LocalStack was and on which CPUs it ran (a core of its
    own when the sandbox splits them), so that a throughput can be read."""
    one = min(os.sched_getaffinity(0))
    child = subprocess.Popen(
        [sys.executable, "-c", "input()"],
        stdin=subprocess.PIPE,
        preexec_fn=lambda: os.sched_setaffinity(0, {one}),
    )
    try:
        meter = CpuMeter({"me": os.getpid(), "child": child.pid})
        sum(range(10**6))
        report = meter.report()
    finally:
        child.kill()
        child.wait()
    assert report["meCpus"] == sorted(os.sched_getaffinity(0))
    assert report["childCpus"] == [one]
    assert report["meCpuPercentOfOneCore"] > 0
    gone = CpuMeter({"gone": child.pid}).report()
    assert gone["goneCpus"] is None and "goneCpuPercentOfOneCore" not in gone
