"""The read commands against a stack on AWS (moto's in-process mock), found by profile.

An AWS config file whose profile says eu-west-1, a stack deployed there with bootstrap, and
the app's data written as the functions write it: ``flights``, ``bookings``, ``logs``,
``events`` and ``dlq list`` read it with ``--profile`` alone (outputs from the stack itself,
nothing on disk); the sandbox-only commands say so.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bootstrap import Settings, deploy, resolve_target
from skybook.cli import main
from skybook.contract import booking_key, flight_item

REPO = Path(__file__).resolve().parents[3]
REGION = "eu-west-1"
SENDER = "bookings@skybook-demo.com"


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text(f"[profile demo]\nregion = {REGION}\n")
    credentials.write_text("[demo]\naws_access_key_id = AKIADEMO\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "SKYBOOK_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKYBOOK_HOME", str(tmp_path / "home"))  # no local state at all
    with mock_aws():
        target = resolve_target(profile="demo")
        settings = Settings(functions_dir=REPO / "functions", sender_email=SENDER)
        outputs = deploy(settings, target, progress=lambda _line: None).outputs
        assert outputs["region"] == REGION
        ddb = boto3.Session(profile_name="demo").client("dynamodb")
        ddb.put_item(TableName=outputs["tableName"], Item=flight_item("LHR", "2031-05-01", 2))
        booking = {
            **booking_key("b-1"),
            "itemType": {"S": "BOOKING"},
            "bookingId": {"S": "b-1"},
            "destination": {"S": "LHR"},
            "flightDate": {"S": "2031-05-01"},
            "numberOfSeats": {"N": "1"},
            "bookerEmail": {"S": "a@skybook-demo.com"},
            "status": {"S": "CONFIRMED"},
            "createdAt": {"S": "2031-04-01T00:00:00Z"},
        }
        ddb.put_item(TableName=outputs["tableName"], Item=booking)
        logs = boto3.Session(profile_name="demo").client("logs")
        group = f"/aws/lambda/{outputs['functions']['registerBooking']}"
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        line = json.dumps({"level": "INFO", "message": "booking confirmed", "bookingId": "b-1"})
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": line}],
        )
        yield outputs


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_read_commands_work_on_aws_with_a_profile(deployed: dict[str, str]) -> None:
    code, out, err = run("flights", "--profile", "demo", "--json")
    assert code == 0, err
    assert [(f["destination"], f["seatsLeft"], f["bookings"]) for f in json.loads(out)] == [
        ("LHR", 2, 1)
    ]
    code, out, err = run("bookings", "--profile", "demo", "--json")
    assert code == 0, err
    assert [b["id"] for b in json.loads(out)] == ["b-1"]
    code, out, err = run("logs", "registerBooking", "--profile", "demo", "--booking", "b-1")
    assert code == 0, err
    assert "booking confirmed" in out
    code, out, err = run("events", "--profile", "demo", "--json")
    assert code == 0, err  # on AWS the event log is off by default: nothing to show
    code, out, err = run("dlq", "list", "--profile", "demo", "--json")
    assert (code, json.loads(out)) == (0, []), err


@pytest.mark.parametrize(("command", "what"), [("inbox", "the inbox"), ("reset", "reset")])
def test_sandbox_only_commands_say_so_on_aws(
    deployed: dict[str, str], command: str, what: str
) -> None:
    code, out, err = run(command, "--profile", "demo")
    assert code == 1 and out == ""
    assert err.startswith(f"skybook: {what} is sandbox-only: ")
    assert len(err.strip().splitlines()) == 1
