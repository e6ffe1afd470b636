"""The shared pieces on their own: the handler wrapper, log lines, faults, config, events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from common import clock, config, events, faults, log, responses
from common.invocation import Dropped, Invocation, lambda_handler

from tests.unit.functions.helpers import Context, json_lines


def test_handler_wrapper_reads_the_envelope_and_binds_the_booking(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[Invocation] = []

    @lambda_handler
    def handler(call: Invocation) -> dict[str, Any]:
        seen.append(call)
        call.log.info("working")
        return {"ok": True}

    event = {"detail-type": "flightBooked", "detail": {"bookingId": "b1", "n": 1}}
    assert handler(event, Context()) == {"ok": True}
    [call] = seen
    assert call.event is event and call.envelope.detail == {"bookingId": "b1", "n": 1}
    assert call.envelope.detail_type == "flightBooked"
    [line] = json_lines(capsys.readouterr().out)
    assert (line["bookingId"], line["awsRequestId"]) == ("b1", "req-123")

    assert handler({"httpMethod": "POST", "body": "{}"}, Context()) == {"ok": True}
    assert seen[1].envelope == events.Envelope(None, None, None)  # not an EventBridge event
    assert "bookingId" not in json_lines(capsys.readouterr().out)[0]


def test_handler_wrapper_logs_and_drops_what_no_retry_can_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @lambda_handler
    def handler(call: Invocation) -> dict[str, Any]:
        raise Dropped("dropping event: no good", why="test")

    event = {"detail-type": "x", "detail": {"bookingId": "b2"}}
    assert handler(event, Context()) == {"status": "DROPPED"}
    [line] = json_lines(capsys.readouterr().out)
    assert line["level"] == "ERROR" and line["message"] == "dropping event: no good"
    assert (line["why"], line["bookingId"]) == ("test", "b2")


def test_deadline_is_now_plus_the_remaining_time(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: now)
    call = Invocation({}, Context(remaining_ms=2500), events.envelope({}), log.get_logger())
    assert call.deadline() == now + timedelta(milliseconds=2500)


def test_log_lines_are_json_with_bound_fields(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "bookFlight")

    class Ctx:
        aws_request_id = "r1"

    logger = log.get_logger(Ctx()).bind(bookingId="b1")
    logger.info("first", seats=2)
    logger.bind(extra="x").warning("second\nwith newline", message="clash")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("third")
    lines = json_lines(capsys.readouterr().out)
    assert len(lines) == 3
    assert all(line["bookingId"] == "b1" and line["awsRequestId"] == "r1" for line in lines)
    assert all(line["function"] == "bookFlight" for line in lines)
    assert lines[0]["seats"] == 2 and lines[0]["level"] == "INFO"
    assert lines[1]["message"] == "second\nwith newline"
    assert lines[1]["field_message"] == "clash"
    assert lines[2]["error"] == "ValueError: boom" and "Traceback" in lines[2]["traceback"]


def test_faults_default_off() -> None:
    faults.check("")
    faults.check('{"failUntil": "2000-01-01T00:00:00Z"}')
    faults.check("{}")


def test_faults_fail_until_compares_with_now() -> None:
    switch = '{"failUntil": "2030-01-01T00:00:00Z"}'
    with pytest.raises(faults.InjectedFault):
        faults.check(switch, now=datetime(2029, 12, 31, tzinfo=UTC))
    faults.check(switch, now=datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC))


def test_config_defaults() -> None:
    cfg = config.Config.from_env({})
    assert cfg.receipt_template_name == "bookingReceiptTemplate"
    assert cfg.rejection_template_name == "bookingRejectedTemplate"
    assert (cfg.seats_per_flight, cfg.days_ahead) == (2, 0)
    with pytest.raises(config.ConfigError, match="TABLE_NAME"):
        cfg.need("table_name")


def test_put_event_raises_on_failed_entry() -> None:
    class Client:
        def __init__(self, response: dict[str, Any]) -> None:
            self.response = response
            self.calls: list[dict[str, Any]] = []

        def put_events(self, **kwargs: Any) -> dict[str, Any]:
            self.calls.append(kwargs)
            return self.response

    ok = Client({"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]})
    assert events.put_event(ok, "bus", "src", "type", {"a": 1}) == "e1"
    [entry] = ok.calls[0]["Entries"]
    assert entry == {
        "EventBusName": "bus",
        "Source": "src",
        "DetailType": "type",
        "Detail": '{"a": 1}',
    }
    failed = Client({"FailedEntryCount": 1, "Entries": [{"ErrorCode": "X", "ErrorMessage": "y"}]})
    with pytest.raises(events.PublishError, match="X y"):
        events.put_event(failed, "bus", "src", "type", {})


def test_json_response_shape() -> None:
    response = responses.error(404, "Flight not found")
    assert response["statusCode"] == 404
    assert response["headers"] == {"Content-Type": "application/json"}
    assert json.loads(response["body"]) == {"message": "Flight not found"}


def test_faults_per_delivery_parses_its_options() -> None:
    assert faults.per_delivery_spec("") is None
    assert faults.per_delivery_spec('{"failUntil": "2000-01-01T00:00:00Z"}') is None
    assert faults.per_delivery_spec('{"failDeliveries": 2}') == faults.PerDelivery(fail_first=2)
    assert faults.per_delivery_spec(
        '{"pauseSeconds": 0.5, "pauseOnce": true}'
    ) == faults.PerDelivery(pause_seconds=0.5, pause_once=True)
    faults.check('{"pauseSeconds": 2, "failDeliveries": 1}')  # never fails a call by itself


def test_faults_per_delivery_decisions() -> None:
    fail_two = faults.PerDelivery(fail_first=2)
    assert fail_two.counts and [fail_two.fails(n) for n in (1, 2, 3)] == [True, True, False]
    assert not fail_two.pauses(1)
    always = faults.PerDelivery(pause_seconds=3)
    assert not always.counts and always.pauses(None) and not always.fails(1)
    once = faults.PerDelivery(pause_seconds=3, pause_once=True)
    assert once.counts and once.pauses(1) and not once.pauses(2)


@pytest.mark.parametrize(
    "switch",
    [
        '{"pauseSeconds": -1}',
        '{"pauseSeconds": 901}',
        '{"pauseSeconds": "5"}',
        '{"pauseSeconds": true}',
        '{"pauseSeconds": 5, "pauseOnce": "yes"}',
        '{"pauseOnce": true}',
        '{"failDeliveries": -1}',
        '{"failDeliveries": 1.5}',
        '{"failDeliveries": true}',
        "not json",
    ],
)
def test_faults_malformed_per_delivery_raises(switch: str) -> None:
    with pytest.raises(faults.InjectedFault, match="malformed"):
        faults.per_delivery_spec(switch)
    with pytest.raises(faults.InjectedFault, match="malformed"):
        faults.check(switch)  # so the whole call fails, whatever the event
