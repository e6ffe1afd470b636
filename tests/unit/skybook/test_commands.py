"""How the app commands print log lines and events, how --follow ends, and what book --wait
says when a step does not happen."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import pytest

from skybook.appdata import LogLine
from skybook.commands import logs, views


def line(message: str, timestamp: int = 1_795_755_502_111, id_: str = "e1") -> LogLine:
    return LogLine("registerBooking", timestamp, message, "stream", id_)


def test_a_json_log_line_shows_level_message_and_fields_at_the_time_it_was_written() -> None:
    text = views.log_text(
        line(
            json.dumps(
                {
                    "timestamp": "2026-11-27T04:58:22.041+00:00",
                    "level": "INFO",
                    "message": "booking confirmed",
                    "function": "skybook-registerBooking",
                    "awsRequestId": "r",
                    "bookingId": "b-1",
                    "seats": 1,
                    "reason": None,
                }
            )
        )
    )
    assert (
        text
        == "2026-11-27 04:58:22.041  INFO   booking confirmed  bookingId=b-1 seats=1 reason=null"
    )


def test_a_plain_log_line_uses_cloudwatchs_time_and_a_traceback_is_indented() -> None:
    assert (
        views.log_text(line("START RequestId: x")) == "2026-11-27 04:58:22.111  START RequestId: x"
    )
    text = views.log_text(
        line(json.dumps({"level": "ERROR", "message": "boom", "traceback": "Trace\n  at x"}))
    )
    assert text.splitlines()[1:] == ["    Trace", "      at x"]


def test_an_event_line_names_source_type_booking_and_what_happened() -> None:
    event = {
        "id": "1",
        "time": "2026-11-27T04:58:22Z",
        "source": "registerBooking",
        "detail-type": "bookingRejected",
        "detail": {
            "bookingId": "b-1",
            "destination": "LHR",
            "flightDate": "2026-12-01",
            "numberOfSeats": 2,
            "bookerEmail": "a@example.com",
            "status": "REJECTED",
            "reason": "Not enough seats for this flight",
        },
    }
    expected = "  ".join(
        [
            "2026-11-27 04:58:22",
            "registerBooking".ljust(15),
            "bookingRejected".ljust(16),
            "b-1".ljust(36),
            "LHR  2026-12-01  2 seat(s)  a@example.com  REJECTED  Not enough seats for this flight",
        ]
    )
    assert views.event_text(event) == expected


def test_follow_shows_each_item_once_and_ctrl_c_is_success(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batches: list[list[dict[str, Any]]] = [
        [{"k": "a", "t": 1}],
        [{"k": "a", "t": 1}, {"k": "b", "t": 2}],
        [{"k": "b", "t": 2}, {"k": "c", "t": 3}],
    ]
    asked: list[int | None] = []
    shown: list[str] = []

    def fetch(since: int | None) -> list[dict[str, Any]]:
        asked.append(since)
        if len(asked) == len(batches):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the last poll is in flight
        return batches[len(asked) - 1]

    monkeypatch.setattr(logs, "FOLLOW_SECONDS", 0.01)
    before = signal.getsignal(signal.SIGINT)
    code = logs.follow(
        fetch, lambda i: str(i["k"]), lambda i: int(i["t"]), lambda i: shown.append(i["k"])
    )
    assert code == 0
    assert shown == ["a", "b", "c"]  # the poll in flight still shows what it got
    assert asked[0] is None and all(isinstance(s, int) for s in asked[1:])
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C is the caller's again


# --- book --wait: where it says the booking stopped -----------------------------------------


def _booking(status: str, notification: str | None = None) -> Any:
    from skybook.appdata import Booking

    return Booking("b-1", "LHR", "2031-05-01", 1, "a@x.test", status, None, "t", notification)


@pytest.mark.parametrize(
    ("endpoint", "stored", "expected"),
    [
        (
            "http://127.0.0.1:1",
            None,
            "booking b-1 was neither confirmed nor rejected within 0 s: "
            "see 'skybook logs registerBooking --booking b-1'",
        ),
        (
            "http://127.0.0.1:1",
            _booking("CONFIRMED"),
            "booking b-1 is CONFIRMED but no email arrived within 0 s: "
            "see 'skybook logs sendBookingReceipt --booking b-1'",
        ),
        (
            None,  # AWS: SES must have taken the email
            _booking("REJECTED", notification="SENDING"),
            "booking b-1 is REJECTED but its email was not sent within 0 s: "
            "see 'skybook logs sendBookingReceipt --booking b-1'",
        ),
    ],
)
def test_book_wait_names_the_step_that_did_not_happen_and_its_logs(
    monkeypatch: pytest.MonkeyPatch, endpoint: str | None, stored: Any, expected: str
) -> None:
    import argparse
    from types import SimpleNamespace

    from skybook.commands import book
    from skybook.errors import CliError
    from skybook.httpclient import Answer

    ctx = SimpleNamespace(
        endpoint=endpoint, region="us-east-1", target=None, outputs={"bookFlightUrl": "u"}
    )
    monkeypatch.setattr(book, "app_context", lambda _args: ctx)
    monkeypatch.setattr(book, "_post", lambda _url, _body: Answer(200, b'{"bookingId": "b-1"}'))
    monkeypatch.setattr(book.appdata, "booking", lambda *_args: stored)
    monkeypatch.setattr(book.inbox, "fetch_emails", lambda *_args, **_kw: [])
    args = argparse.Namespace(
        to="LHR", date="2031-05-01", seats=1, email="a@x.test", wait=True, timeout=0.0, json=False
    )
    with pytest.raises(CliError) as error:
        book.cmd_book(args)
    assert str(error.value) == expected
