"""The command line: exit codes, one-line errors, the summary lines."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import boto3
import pytest

from bootstrap import cli
from bootstrap.target import Target


@pytest.fixture
def mocked_target(target: Target, monkeypatch: pytest.MonkeyPatch) -> Target:
    """Route the CLI's target to the moto-backed one the other fixtures record."""
    monkeypatch.setattr(cli, "target_from", lambda args: target)
    return target


def args(settings: Any, *extra: str) -> list[str]:
    return [
        *extra,
        "--functions-dir",
        str(settings.functions_dir),
        "--outputs-file",
        str(settings.outputs_file),
    ]


def test_plan_apply_apply_outputs_destroy(
    settings: Any, mocked_target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args(settings, "plan", "--detailed-exitcode")) == 2
    out = capsys.readouterr().out
    assert "+ create  Function" in out and "skybook-bookFlight" in out

    assert cli.main(args(settings, "apply")) == 0
    captured = capsys.readouterr()
    assert "changes applied" in captured.out
    assert "[1/" in captured.err  # progress, one line per step

    assert cli.main(args(settings, "apply")) == 0
    assert "No changes: the stack is up to date." in capsys.readouterr().out
    assert cli.main(args(settings, "plan", "--detailed-exitcode")) == 0
    capsys.readouterr()

    assert cli.main(args(settings, "outputs")) == 0
    outputs = json.loads(capsys.readouterr().out)
    assert outputs["tableName"] == "skybook-flights"
    assert json.loads(Path(settings.outputs_file).read_text()) == outputs

    assert cli.main(args(settings, "plan", "--destroy", "--json")) == 0
    planned = json.loads(capsys.readouterr().out)["changes"]
    assert {c["action"] for c in planned} == {"delete"}

    assert cli.main(args(settings, "destroy")) == 1  # AWS target, no tty: asks for --yes
    assert "pass --yes" in capsys.readouterr().err
    assert cli.main(args(settings, "destroy", "--yes")) == 0
    assert "changes applied" in capsys.readouterr().out
    assert boto3.client("lambda", region_name="us-east-1").list_functions()["Functions"] == []


def test_outputs_of_a_missing_stack_is_a_one_line_error(
    settings: Any, mocked_target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args(settings, "outputs")) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: stack skybook is not (fully) deployed")
    assert "\n" not in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_endpoint_names_the_fix(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    assert cli.main(args(settings, "plan", "--endpoint", url)) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"error: cannot reach {url}: is the sandbox running? start it with ./scripts/up")


def test_missing_manifest_is_a_one_line_error(
    settings: Any, mocked_target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    (Path(settings.functions_dir) / "send_booking_receipt/templates/templates.json").unlink()
    assert cli.main(args(settings, "plan")) == 1
    assert "templates.json not found" in capsys.readouterr().err


def test_bad_schedule_is_refused(settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(args(settings, "plan", "--schedule", "every day")) == 1
    assert "schedule 'every day' is invalid" in capsys.readouterr().err


def test_endpoint_target_uses_test_credentials() -> None:
    target = Target(endpoint="http://127.0.0.1:4566")
    credentials = target.session.get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("test", "test")
    assert target.region == "us-east-1"
