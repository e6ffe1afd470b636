"""The ``skybook`` CLI against the session's sandbox and app, run in-process.

The session sandbox is not the default-named one, so every command gets ``--endpoint`` (one
test uses ``$SKYBOOK_ENDPOINT`` instead). No outputs file exists anywhere: the commands read
the stack's outputs from the stack itself. ``reset`` would empty the shared table, so it runs
against a second stack of its own.
"""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import threading
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from skybook.cli import main
from tests.e2e.conftest import App, start_skybook, unique_date, unique_email, wait_for

pytestmark = pytest.mark.sandbox
RECEIPT_SUBJECT = "Your flight to LHR was booked!"
EXPECTED_TAIL = ("CONFIRMED", "SENT", "-")  # status, mail, reason


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """``cli("flights", "--json")`` runs ``skybook flights --json`` on the test sandbox."""

    endpoint: str
    stack: str = "skybook"

    def __call__(self, *argv: str, aim: bool = True) -> Run:
        args = list(argv)
        if aim:
            args += ["--endpoint", self.endpoint]
        if "--stack-name" not in args:
            args += ["--stack-name", self.stack]
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(args)
        return Run(code, out.getvalue(), err.getvalue())

    def json(self, *argv: str) -> Any:
        run = self(*argv, "--json")
        assert run.code == 0, run.err
        return json.loads(run.out)


@pytest.fixture(scope="module")
def cli(app: App) -> Cli:
    return Cli(app.sandbox.endpoint, str(app.outputs["stack"]))


@dataclass
class Booked:
    id: str
    date: str
    email: str
    result: dict[str, Any]


@pytest.fixture(scope="module")
def booked(app: App, cli: Cli) -> Booked:
    """One booking made with ``skybook book --wait --json``, shared by the read-only tests."""
    flight_date, email = unique_date(), unique_email("cli")
    app.seed_flight("LHR", flight_date, 2)
    result = cli.json(
        "book", "--to", "LHR", "--date", flight_date, "--seats", "1", "--email", email, "--wait"
    )
    return Booked(result["booking"]["id"], flight_date, email, result)


def test_book_wait_returns_the_outcome_and_the_rendered_email(booked: Booked) -> None:
    assert booked.result["answer"]["message"] == "Processing flight booking"
    assert booked.result["booking"]["status"] == "CONFIRMED"
    assert booked.result["booking"]["seats"] == 1
    email = booked.result["email"]
    assert email["to"] == [booked.email]
    assert email["error"] is None
    assert email["subject"] == RECEIPT_SUBJECT
    assert f"Booking reference: {booked.id}" in email["text"]


def test_book_wait_prints_booking_and_email_for_people(app: App, cli: Cli) -> None:
    flight_date, email = unique_date(), unique_email("cli")
    app.seed_flight("LHR", flight_date, 1)
    run = cli("book", "--to", "LHR", "--date", flight_date, "--email", email, "--wait")
    assert run.code == 0, run.err
    assert "CONFIRMED" in run.out.splitlines()[0]
    assert f"Subject: {RECEIPT_SUBJECT}" in run.out
    assert f"Your flight was booked on {flight_date}, for 1 person(s), to LHR!" in run.out
    assert "waiting for" in run.err  # progress goes to stderr


def test_inbox_shows_the_rendered_receipt(cli: Cli, booked: Booked) -> None:
    run = cli("inbox", "--to", booked.email)
    assert run.code == 0, run.err
    assert f"Subject: {RECEIPT_SUBJECT}" in run.out
    assert f"Your flight was booked on {booked.date}, for 1 person(s), to LHR!" in run.out
    html = cli("inbox", "--to", booked.email, "--html").out
    assert f"<p>Your flight was booked on {booked.date}, for 1 person(s), to LHR!</p>" in html
    [email] = cli.json("inbox", "--to", booked.email)
    assert email["subject"] == RECEIPT_SUBJECT
    assert email["data"]["bookingId"] == booked.id


def test_flights_json_lists_seeded_flights_with_their_seats(
    app: App, cli: Cli, booked: Booked
) -> None:
    fresh = unique_date()
    app.seed_flight("CDG", fresh, 3)
    assert cli.json("flights", "--to", "CDG", "--date", fresh) == [
        {"destination": "CDG", "date": fresh, "seatsLeft": 3, "capacity": None, "bookings": 0}
    ]
    [mine] = cli.json("flights", "--to", "LHR", "--date", booked.date)
    assert (mine["seatsLeft"], mine["bookings"]) == (1, 1)
    today = datetime.now(UTC).date().isoformat()
    synced = [f for f in cli.json("flights") if f["date"] == today]
    assert sorted(f["destination"] for f in synced) == sorted(
        ["CDG", "LHR", "FRA", "IST", "AMS", "FCO", "LAX"]
    )
    assert all(f["capacity"] == 2 for f in synced)


def test_bookings_table_and_json(cli: Cli, booked: Booked) -> None:
    run = cli("bookings", "--to", "LHR", "--date", booked.date)
    assert run.code == 0, run.err
    header, row = run.out.splitlines()
    headers = "CREATED ID TO DATE SEATS EMAIL STATUS MAIL REASON"
    assert header.split() == headers.split()
    assert row.split()[1:] == [booked.id, "LHR", booked.date, "1", booked.email, *EXPECTED_TAIL]
    [as_json] = cli.json("bookings", "--to", "lhr", "--date", booked.date)
    assert as_json["id"] == booked.id and as_json["notification"] == "SENT"


def test_logs_of_a_booking(cli: Cli, booked: Booked) -> None:
    def lines() -> str | None:
        run = cli("logs", "registerBooking", "--booking", booked.id)
        assert run.code == 0, run.err
        return run.out if "booking confirmed" in run.out else None

    out = wait_for(lines, what="registerBooking's log lines about the booking")
    assert all(booked.id in line for line in out.splitlines())
    as_json = cli.json("logs", "sendBookingReceipt", "--booking", booked.id)
    assert any((line["fields"] or {}).get("message") == "booking email sent" for line in as_json), (
        as_json
    )


def test_events_of_a_booking(cli: Cli, booked: Booked) -> None:
    def types() -> list[str] | None:
        found = [e["detail-type"] for e in cli.json("events", "--booking", booked.id)]
        return found if {"flightBooked", "bookingConfirmed"} <= set(found) else None

    assert wait_for(types, what="the booking's events") == ["flightBooked", "bookingConfirmed"]
    lines = cli("events", "--booking", booked.id).out.splitlines()
    assert [line.split()[2:4] for line in lines] == [
        ["bookFlight", "flightBooked"],
        ["registerBooking", "bookingConfirmed"],
    ]


def test_events_follow_shows_new_events_until_ctrl_c(app: App, cli: Cli) -> None:
    env = {**os.environ, "SKYBOOK_ENDPOINT": cli.endpoint}
    follower = start_skybook("events", "--follow", "--limit", "1", env=env)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:  # the pipe is read on a thread, so the test can poll with a deadline
        for line in follower.stdout or ():
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        flight_date = unique_date()
        app.seed_flight("IST", flight_date, 1)
        booking_id = app.book("IST", flight_date, 1, unique_email("follow")).body["bookingId"]
        seen: list[str] = []

        def confirmed() -> bool:
            while not lines.empty():
                seen.append(lines.get())
            return any(booking_id in x and "bookingConfirmed" in x for x in seen)

        wait_for(confirmed, what="the followed bookingConfirmed event")
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=15) == 0, follower.stderr.read() if follower.stderr else ""
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_sync_is_idempotent(cli: Cli) -> None:
    today = datetime.now(UTC).date()
    window = (today.isoformat(), (today + timedelta(days=7)).isoformat())  # what sync creates

    def synced() -> list[dict[str, Any]]:
        return [f for f in cli.json("flights") if window[0] <= f["date"] <= window[1]]

    before = synced()
    first = cli.json("sync")
    second = cli.json("sync")
    assert second["created"] == 0
    assert second["existing"] == first["created"] + first["existing"] == 7 * 8
    assert synced() == before
    assert cli("sync").out.strip() == "syncFlights: 0 flights created, 56 already there"


def test_plan_on_the_sandbox_matches_what_up_deployed(app: App, cli: Cli) -> None:
    run = cli("plan", "--stack-name", app.outputs["stack"], "--detailed-exitcode")
    assert run.code == 0, run.out + run.err
    assert "No changes" in run.out
    outputs = cli.json("outputs", "--stack-name", app.outputs["stack"])
    assert outputs["bookFlightUrl"] == app.outputs["bookFlightUrl"]


def test_environment_aims_the_commands(
    cli: Cli, booked: Booked, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYBOOK_ENDPOINT", cli.endpoint)
    run = cli("bookings", "--to", "LHR", "--date", booked.date, "--json", aim=False)
    assert run.code == 0, run.err
    assert [b["id"] for b in json.loads(run.out)] == [booked.id]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["book", "--to", "XXX", "--email", "x@example.com"],
            "skybook: the booking was refused (400): Invalid destination: must be one of "
            "CDG, LHR, FRA, IST, AMS, FCO, LAX",
        ),
        (
            ["book", "--to", "FRA", "--date", "2099-01-01", "--email", "x@example.com"],
            "skybook: the booking was refused (404): Flight not found",
        ),
        (
            ["logs", "nope"],
            "skybook: unknown function 'nope': use one of bookFlight, registerBooking, "
            "sendBookingReceipt, syncFlights",
        ),
    ],
)
def test_bad_input_is_exit_1_with_one_line(cli: Cli, argv: list[str], message: str) -> None:
    run = cli(*argv)
    assert (run.code, run.err.strip(), run.out) == (1, message, "")


def test_no_sandbox_at_the_endpoint_is_exit_1(cli: Cli) -> None:
    bogus = "http://127.0.0.1:1"
    for command in (["flights"], ["inbox"], ["book", "--to", "LHR"]):
        run = cli(*command, "--endpoint", bogus, aim=False)
        assert run.code == 1
        assert run.err.strip() == (
            f"skybook: nothing answers at {bogus}: start the sandbox with ./scripts/up"
        )


def test_reset_empties_bookings_and_mail_and_reseeds(app: App, cli: Cli) -> None:
    """On a second stack: the session's table is shared by every other test."""
    other = Cli(app.sandbox.endpoint, "resettest")
    deployed = other.json("deploy")
    try:
        assert deployed["outputs"]["tableName"] == "resettest-flights"
        assert deployed["seeded"] == {"created": 56, "existing": 0}
        today = datetime.now(UTC).date().isoformat()
        email = unique_email("reset")
        booked = other.json("book", "--to", "AMS", "--date", today, "--email", email, "--wait")
        assert booked["booking"]["status"] == "CONFIRMED"
        assert other.json("inbox", "--to", email) != []

        result = other.json("reset")
        assert result["deleted"] == {"flights": 56, "bookings": 1, "other": 0}
        assert result["emails"] >= 1
        assert result["seeded"] == {"created": 56, "existing": 0}
        assert other.json("bookings") == []
        assert other.json("inbox", "--to", email) == []
        flights = other.json("flights")
        assert len(flights) == 56
        assert all(f["seatsLeft"] == f["capacity"] == 2 and f["bookings"] == 0 for f in flights)
        # The session's stack kept its data: reset touched only the table it was aimed at.
        assert cli.json("flights") != []
    finally:
        run = other("destroy")
        assert run.code == 0, run.err
