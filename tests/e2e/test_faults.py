"""Faults on a real sandbox, and what the app and the kit do about them.

* a registerBooking process killed in the middle of a booking event: Lambda's async retry
  delivers the event again, and the booking is made (and mailed) exactly once;
* a transient failure (the first two deliveries fail): retried, booked once;
* a permanent failure: after the retries the event is in the failed-events queue, where
  ``skybook dlq`` lists it and, once the cause is gone, redrives it: booked once;
* an event EventBridge could not deliver (in the rules' DLQ, shaped as AWS writes it):
  listed and redriven the same way, and a message naming a foreign function is kept;
* the sandbox stopped and started again: everything is gone (state is in memory), and
  deploying again (what ``up`` does) brings a working app back.

The function faults change registerBooking's configuration, so they run on a stack of their
own (``faults``, deployed for this module and destroyed after it): the session's shared
``skybook`` stack, on which every other test books, is never faulted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from bootstrap import Target, destroy
from skybook import appdata, dlq
from skybook.app import deploy_app, sandbox_settings
from skybook.cli import main as skybook_main
from tests.conftest import QUICK_STOP, SandboxUnderTest
from tests.e2e.conftest import App, unique_date, unique_email, wait_for

pytestmark = pytest.mark.sandbox

STACK = "faults"
# registerBooking's pause for the kill test: shorter than its 10 s timeout (or the timeout
# would end the invocation first), long enough to find and kill the process.
PAUSE_SECONDS = 8
# The event's whole life with retries: 3 attempts 1 s and 2 s apart (LAMBDA_RETRY_BASE_DELAY=1
# in the test sandbox), plus cold starts after each configuration change.
RETRIES_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def faults(
    sandbox: SandboxUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[App, Path]]:
    """The app deployed as stack ``faults`` on the session sandbox, and its outputs file."""
    outputs_file = tmp_path_factory.mktemp("faults") / "outputs.json"
    outputs = deploy_app(sandbox.endpoint, stack_name=STACK, outputs_file=outputs_file, quiet=True)
    try:
        yield App(sandbox=sandbox, outputs=outputs), outputs_file
    finally:
        destroy(
            sandbox_settings(stack_name=STACK, outputs_file=outputs_file),
            Target.local(sandbox.endpoint),
            progress=lambda _line: None,
        )


# --- the fault switch ------------------------------------------------------------------------


def _set_environment(app: App, variables: dict[str, str]) -> None:
    """Replace registerBooking's environment and wait until the new version is live."""
    lam = app.sandbox.client("lambda")
    name = app.outputs["functions"]["registerBooking"]
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})

    def updated() -> bool:
        config = lam.get_function_configuration(FunctionName=name)
        return (
            config.get("LastUpdateStatus") == "Successful"
            and config.get("Environment", {}).get("Variables", {}) == variables
        )

    # Successful means the new version handles the next event at once: the executor plugin
    # fixes LocalStack's stopped poller holding events (sandbox/lambda_executor/poller_fix.py)
    wait_for(updated, what=f"{name}'s configuration update")


@contextlib.contextmanager
def fault_switch(app: App, spec: dict[str, Any]) -> Iterator[None]:
    """``FAULT_INJECTION=spec`` on registerBooking (merged into its environment), and off
    again afterwards whatever happens, so a failed test leaves no fault behind."""
    lam = app.sandbox.client("lambda")
    name = app.outputs["functions"]["registerBooking"]
    current = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    clean = {k: v for k, v in current.items() if k != "FAULT_INJECTION"}
    _set_environment(app, {**clean, "FAULT_INJECTION": json.dumps(spec)})
    try:
        yield
    finally:
        _set_environment(app, clean)


# --- observations ----------------------------------------------------------------------------


def _book(app: App, flight_date: str, email: str) -> str:
    response = app.book("LHR", flight_date, 1, email)
    assert response.status == 200, response.body
    return str(response.body["bookingId"])


def _marker(app: App, booking_id: str) -> dict[str, Any] | None:
    """Where registerBooking counts an event's deliveries under a per-delivery fault."""
    return app.item({"PK": {"S": f"FAULT#{booking_id}"}, "SK": {"S": "DELIVERIES"}})


def _function_of(pid: int) -> str | None:
    """The Lambda function a process of the process executor runs (None: not one of them)."""
    try:
        process = psutil.Process(pid)
        if not any(arg.endswith("runtime.py") for arg in process.cmdline()):
            return None
        return process.environ().get("AWS_LAMBDA_FUNCTION_NAME")
    except psutil.Error:
        return None


def _failed_for(app: App, booking_id: str) -> list[dlq.FailedEvent]:
    return [
        e
        for e in dlq.list_failed(app.outputs, appdata.local(app.sandbox.endpoint, app.outputs))
        if e.booking_id == booking_id
    ]


def _outcomes_published(app: App, booking_id: str) -> list[str]:
    return app.log_lines("registerBooking", booking_id, "booking outcome published")


def _assert_booked_once(app: App, booking_id: str, flight_date: str, email: str) -> None:
    """One confirmed booking, one seat gone, one email, one outcome event."""
    receipt = wait_for(
        lambda: app.receipts(email), timeout=RETRIES_TIMEOUT, what="the booking receipt"
    )[0]
    assert json.loads(receipt["TemplateData"])["bookingId"] == booking_id
    # The receipt is marked SENT after it went out: after that nothing is left in flight.
    wait_for(
        lambda: (app.booking(booking_id) or {}).get("notification") == "SENT",
        what="the receipt to be recorded as sent",
    )
    bookings = app.bookings_for("LHR", flight_date)
    assert [(b["bookingId"], b["status"]) for b in bookings] == [(booking_id, "CONFIRMED")]
    assert app.seats("LHR", flight_date) == 1
    assert len(app.mail(email)) == 1
    published = wait_for(lambda: _outcomes_published(app, booking_id), what="the outcome log")
    assert len(published) == 1, published


# --- the tests -------------------------------------------------------------------------------


def _needs_embedded(sandbox: SandboxUnderTest, why: str) -> None:
    if sandbox.embedded is None:
        pytest.skip(f"needs the embedded test sandbox: {why}")


FAST_RETRIES = "Lambda's async retries 1 s apart (LAMBDA_RETRY_BASE_DELAY=1), not minutes"


def test_a_killed_function_process_is_retried_and_books_once(
    faults: tuple[App, Path], sandbox: SandboxUnderTest
) -> None:
    app, _ = faults
    _needs_embedded(sandbox, "its functions are local processes, and " + FAST_RETRIES)
    function = app.outputs["functions"]["registerBooking"]
    flight_date, email = unique_date(), unique_email("killed")
    app.seed_flight("LHR", flight_date, 2)

    # Only the first delivery pauses (its count decides), so the retry runs straight through.
    with fault_switch(app, {"pauseSeconds": PAUSE_SECONDS, "pauseOnce": True}):
        booking_id = _book(app, flight_date, email)
        marker = wait_for(
            lambda: _marker(app, booking_id), what="registerBooking to pause on the event"
        )
        assert marker["deliveries"] == 1
        pid = int(marker["pid"])
        assert pid in sandbox.embedded.pids(), "the paused process is not the sandbox's"
        assert _function_of(pid) == function
        assert app.booking(booking_id) is None  # mid-flight: nothing written yet
        os.kill(pid, signal.SIGKILL)
        killed_at = datetime.now(UTC)

        _assert_booked_once(app, booking_id, flight_date, email)

    booking = app.booking(booking_id) or {}
    assert datetime.fromisoformat(booking["createdAt"]) > killed_at  # made by the retry
    assert _function_of(pid) is None
    # Lambda saw the process die, under the same request id as the retry that booked.
    wait_for(
        lambda: app.log_lines(
            "registerBooking", marker["requestId"], "Runtime exited with error: signal: killed"
        ),
        what="the killed invocation's error in the log",
    )
    assert (_marker(app, booking_id) or {})["deliveries"] == 2  # the retry did not pause
    assert _failed_for(app, booking_id) == []


def test_a_transient_failure_is_retried_and_books_once(
    faults: tuple[App, Path], sandbox: SandboxUnderTest
) -> None:
    app, _ = faults
    _needs_embedded(sandbox, FAST_RETRIES)
    flight_date, email = unique_date(), unique_email("transient")
    app.seed_flight("LHR", flight_date, 2)

    # The first delivery and the first retry fail; Lambda's second retry goes through.
    with fault_switch(app, {"failDeliveries": 2}):
        booking_id = _book(app, flight_date, email)
        _assert_booked_once(app, booking_id, flight_date, email)

    failures = app.log_lines("registerBooking", booking_id, "injected fault")
    assert len(failures) == 2, failures
    assert (_marker(app, booking_id) or {})["deliveries"] == 3
    assert _failed_for(app, booking_id) == []


def _cli(
    capsys: pytest.CaptureFixture[str], app: App, outputs_file: Path, *args: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = skybook_main(
        [*args, "--endpoint", app.sandbox.endpoint, "--stack-name", str(app.outputs["stack"])]
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
def test_a_permanent_failure_is_kept_listed_and_redriven_once(
    faults: tuple[App, Path], sandbox: SandboxUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    app, outputs_file = faults
    _needs_embedded(sandbox, FAST_RETRIES)
    function = app.outputs["functions"]["registerBooking"]
    flight_date, email = unique_date(), unique_email("permanent")
    app.seed_flight("LHR", flight_date, 2)

    with fault_switch(app, {"fail": True}):
        booking_id = _book(app, flight_date, email)
        [failed] = wait_for(
            lambda: _failed_for(app, booking_id),
            timeout=RETRIES_TIMEOUT,
            what="the event in the failed-events queue",
        )
        assert failed.queue == dlq.FAILED_EVENTS
        assert failed.function == function
        assert failed.attempts == 3  # the first try and Lambda's 2 retries
        assert failed.condition == "RetriesExhausted"
        assert failed.error == "InjectedFault: FAULT_INJECTION: permanent failure"
        assert failed.event["detail-type"] == "flightBooked"
        assert failed.event["detail"]["bookerEmail"] == email
        assert app.booking(booking_id) is None
        assert app.seats("LHR", flight_date) == 2
        assert app.mail(email) == []

        code, out, _ = _cli(capsys, app, outputs_file, "dlq", "list", "--json")
        assert code == 0
        [listed] = [e for e in json.loads(out) if e["bookingId"] == booking_id]
        assert listed["id"] == failed.id and listed["attempts"] == 3
        assert listed["event"] == failed.event
        code, out, _ = _cli(capsys, app, outputs_file, "dlq", "list")
        line = next(line for line in out.splitlines() if line.startswith(failed.id))
        assert "registerBooking" in line and booking_id in line and "InjectedFault" in line
        # Listing leaves the queue as it was.
        assert [e.id for e in _failed_for(app, booking_id)] == [failed.id]

    # The cause is gone (the switch is off again): send the event through once more.
    code, out, err = _cli(capsys, app, outputs_file, "dlq", "redrive", failed.id)
    assert code == 0, err
    assert f"redriven {failed.id} (registerBooking, booking {booking_id})" in out

    _assert_booked_once(app, booking_id, flight_date, email)
    assert _failed_for(app, booking_id) == []
    code, _, err = _cli(capsys, app, outputs_file, "dlq", "redrive", failed.id)
    assert code == 1 and f"no failed event with id {failed.id}" in err
    assert len(app.mail(email)) == 1


def _dead_letter(app: App, event: dict[str, Any], target_function: str) -> None:
    """Put ``event`` in the rules' DLQ the way EventBridge does on AWS when it cannot deliver
    (LocalStack 4.14 never writes there): the event as body, the failure as attributes."""
    region, account = app.outputs["region"], app.outputs["account"]

    def text(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    app.sandbox.client("sqs").send_message(
        QueueUrl=app.outputs["dlqUrl"],
        MessageBody=json.dumps(event),
        MessageAttributes={
            "RULE_ARN": text(f"arn:aws:events:{region}:{account}:rule/{STACK}-bus/x"),
            "TARGET_ARN": text(f"arn:aws:lambda:{region}:{account}:function:{target_function}"),
            "ERROR_CODE": text("Throttling"),
            "ERROR_MESSAGE": text("Rate exceeded"),
            "EXHAUSTED_RETRY_CONDITION": text("MaximumRetryAttempts"),
            "RETRY_ATTEMPTS": text("8"),
        },
    )


def test_an_undelivered_event_in_the_rule_dlq_is_listed_and_redriven(
    faults: tuple[App, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    app, outputs_file = faults
    flight_date, email = unique_date(), unique_email("undelivered")
    app.seed_flight("LHR", flight_date, 2)
    booking_id = str(uuid.uuid4())
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "flightBooked",
        "source": "bookFlight",
        "account": app.outputs["account"],
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": app.outputs["region"],
        "resources": [],
        "detail": {
            "bookingId": booking_id,
            "destination": "LHR",
            "flightDate": flight_date,
            "numberOfSeats": 1,
            "bookerEmail": email,
            "requestedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        },
    }
    _dead_letter(app, event, app.outputs["functions"]["registerBooking"])
    _dead_letter(app, {**event, "id": str(uuid.uuid4())}, "someone-elses-function")

    by_function = {e.function: e for e in _failed_for(app, booking_id)}
    mine = by_function[app.outputs["functions"]["registerBooking"]]
    foreign = by_function["someone-elses-function"]
    assert mine.queue == dlq.EVENTS_DLQ and mine.event == event
    assert (mine.attempts, mine.condition) == (9, "MaximumRetryAttempts")
    assert mine.error == "Throttling: Rate exceeded"

    code, _, err = _cli(capsys, app, outputs_file, "dlq", "redrive")
    assert code == 1 and "say what to redrive: one or more IDs, or --all" in err
    code, out, _ = _cli(capsys, app, outputs_file, "dlq", "redrive", mine.id, foreign.id)
    assert code == 1  # one of the two could not be redriven
    assert f"redriven {mine.id} (registerBooking, booking {booking_id})" in out
    assert f"not redriven {foreign.id}: someone-elses-function is not a function of stack" in out

    _assert_booked_once(app, booking_id, flight_date, email)
    assert [e.id for e in _failed_for(app, booking_id)] == [foreign.id]  # kept, not lost


@pytest.mark.slow
def test_a_restarted_sandbox_starts_empty_and_up_brings_the_app_back(
    sandbox: SandboxUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sandbox.runner import Sandbox, SandboxSettings, free_port

    _needs_embedded(sandbox, "this test starts and restarts one of its own")

    port = free_port()
    box = Sandbox(SandboxSettings.from_env(name=f"test-restart-{port}", port=port))
    outputs_file = tmp_path / "outputs.json"
    today = datetime.now(UTC).date().isoformat()
    box.start()
    try:
        runs = SandboxUnderTest(endpoint=box.endpoint, kind="embedded", embedded=box)
        app = App(runs, deploy_app(box.endpoint, outputs_file=outputs_file, seed=False, quiet=True))
        app.seed_flight("LHR", today, 2)
        before = unique_email("before")
        first = _book(app, today, before)
        wait_for(lambda: app.receipts(before), what="the receipt before the restart")

        box.stop()
        assert box.record() is None and box.pids() == []
        box.start()

        # `skybook status` says what a restart keeps: nothing.
        monkeypatch.setenv("SKYBOOK_SANDBOX", box.settings.name)
        monkeypatch.setenv("SKYBOOK_PORT", str(port))
        capsys.readouterr()
        assert skybook_main(["status"]) == 0
        status = capsys.readouterr().out
        assert f"running at {box.endpoint}" in status
        assert "state: not persisted: a restart starts empty" in status
        assert "./scripts/up redeploys and reseeds flights" in status
        assert "a restart loses the stack, flights, bookings, failed events" in status

        ddb, lam = runs.client("dynamodb"), runs.client("lambda")
        with pytest.raises(ddb.exceptions.ResourceNotFoundException):
            ddb.describe_table(TableName=app.table)
        assert lam.list_functions()["Functions"] == []

        # What `up` does on a fresh sandbox: deploy and seed; the app works again.
        again = App(runs, deploy_app(box.endpoint, outputs_file=outputs_file, quiet=True))
        assert again.seats("LHR", today) == 2  # reseeded by syncFlights
        after = unique_email("after")
        second = _book_on(again, today, after)
        wait_for(lambda: again.receipts(after), what="the receipt after the restart")
        assert again.seats("LHR", today) == 1
        assert again.booking(first) is None and again.booking(second) is not None
        assert again.mail(before) == []  # the sent mail went with the rest
    finally:
        box.stop(timeout=QUICK_STOP)


def _book_on(app: App, flight_date: str, email: str) -> str:
    """Book LHR on a flight syncFlights seeded (2 seats), as a user of `up` would."""
    assert app.seats("LHR", flight_date) is not None, "syncFlights did not seed LHR"
    return _book(app, flight_date, email)
