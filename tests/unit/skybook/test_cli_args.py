"""The CLI's argument handling and its one-line errors, without any sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skybook.cli import build_parser, main
from skybook.commands import context, stack
from skybook.errors import CliError


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's sandbox or environment leaks in: a sandbox name nobody runs."""
    for name in ("SKYBOOK_ENDPOINT", "SKYBOOK_OUTPUTS_FILE", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKYBOOK_SANDBOX", "unit-test-no-such-sandbox")
    monkeypatch.setenv("SKYBOOK_HOME", str(tmp_path))  # no outputs file of a real deploy
    monkeypatch.chdir(tmp_path)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("command", ["flights", "bookings", "inbox", "events", "sync", "reset"])
def test_no_sandbox_running_is_exit_1_saying_how_to_start_one(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command]) == 1
    assert one_line_error(capsys) == f"skybook: {context.NO_SANDBOX}"


def test_no_outputs_file_says_deploy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flights", "--endpoint", "http://127.0.0.1:1"]) == 1
    message = one_line_error(capsys)
    assert "the app is not deployed" in message
    assert "run 'skybook deploy'" in message


def test_outputs_of_another_endpoint_with_nothing_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = tmp_path / "out.json"
    outputs.write_text(json.dumps({"endpoint": "http://127.0.0.1:4566", "stack": "s"}))
    monkeypatch.setenv("SKYBOOK_OUTPUTS_FILE", str(outputs))
    monkeypatch.setenv("SKYBOOK_ENDPOINT", "http://127.0.0.1:1")
    assert main(["bookings"]) == 1
    assert one_line_error(capsys) == (
        "skybook: no sandbox answers at http://127.0.0.1:1: start one with ./scripts/up"
    )


def test_outputs_of_an_aws_stack_are_refused_for_sandbox_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "aws.json"
    outputs.write_text(json.dumps({"endpoint": None, "stack": "s"}))
    args = ["flights", "--endpoint", "http://127.0.0.1:1", "--outputs-file", str(outputs)]
    assert main(args) == 1
    assert "describes a stack on AWS" in one_line_error(capsys)


def test_endpoint_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYBOOK_ENDPOINT", "http://127.0.0.1:5000/")
    assert context.sandbox_endpoint() == "http://127.0.0.1:5000"
    assert context.sandbox_endpoint("http://localhost:7/") == "http://localhost:7"
    monkeypatch.delenv("SKYBOOK_ENDPOINT")
    with pytest.raises(CliError):
        context.sandbox_endpoint()


def test_outputs_path_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert context.outputs_path() == tmp_path / "outputs.json"
    monkeypatch.setenv("SKYBOOK_OUTPUTS_FILE", "/x/o.json")
    assert context.outputs_path() == Path("/x/o.json")
    assert context.outputs_path(Path("mine.json")) == Path("mine.json")


@pytest.mark.parametrize(
    "argv",
    [
        ["book"],  # --to is required
        ["book", "--to", "LHR", "--seats", "two"],
        ["inbox", "--limit", "0"],
        ["logs"],  # FUNCTION is required
        ["events", "--limit", "-3"],
        ["deploy", "--aws", "--endpoint", "http://x"],  # bootstrap's exclusive options
    ],
)
def test_bad_usage_is_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage: skybook" in capsys.readouterr().err


def test_stack_commands_have_bootstraps_options() -> None:
    args = build_parser().parse_args(
        ["plan", "--stack-name", "other", "--destroy", "--region", "eu-west-1", "--json"]
    )
    assert (args.stack_name, args.destroy, args.region, args.json) == (
        "other",
        True,
        "eu-west-1",
        True,
    )
    assert build_parser().parse_args(["destroy", "--yes", "--keep-identity"]).yes


def test_on_the_sandbox_settings_are_the_ones_up_uses() -> None:
    from skybook.app import sandbox_settings

    args = build_parser().parse_args(["deploy", "--endpoint", "http://127.0.0.1:9"])
    target, settings = stack.target_and_settings(args)
    assert target.endpoint == "http://127.0.0.1:9"
    assert settings == sandbox_settings()


def test_options_change_only_what_they_name_on_the_sandbox(tmp_path: Path) -> None:
    from skybook.app import sandbox_settings

    argv = ["deploy", "--endpoint", "http://127.0.0.1:9", "--stack-name", "other"]
    argv += ["--outputs-file", str(tmp_path / "o.json")]
    _, settings = stack.target_and_settings(build_parser().parse_args(argv))
    assert settings == sandbox_settings(stack_name="other", outputs_file=tmp_path / "o.json")


def test_aws_gets_bootstraps_plain_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    args = build_parser().parse_args(["plan", "--aws", "--region", "eu-west-1"])
    target, settings = stack.target_and_settings(args)
    assert not target.is_local and target.region == "eu-west-1"
    assert settings.days_ahead == 0 and settings.event_log is False
