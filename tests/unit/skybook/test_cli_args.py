"""The CLI's argument handling and its one-line errors, without any sandbox."""

from __future__ import annotations

import http.server
import os
import socketserver
import sys
import threading
from pathlib import Path

import pytest

from sandbox.runner import free_port
from skybook.cli import build_parser, main
from skybook.commands import context, stack
from skybook.errors import CliError
from tests.unit.skybook.conftest import QUICK_SHUTDOWN


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's sandbox or environment leaks in: a sandbox name nobody runs."""
    for name in ("SKYBOOK_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKYBOOK_SANDBOX", "unit-test-no-such-sandbox")
    monkeypatch.setenv("SKYBOOK_PORT", str(free_port()))  # where no LocalStack answers
    monkeypatch.setenv("SKYBOOK_HOME", str(tmp_path))
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


def test_nothing_answering_at_the_endpoint_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flights", "--endpoint", "http://127.0.0.1:1"]) == 1
    assert one_line_error(capsys) == (
        "skybook: nothing answers at http://127.0.0.1:1: start the sandbox with ./scripts/up"
    )


def test_endpoint_and_aws_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flights", "--endpoint", "http://127.0.0.1:1", "--aws"]) == 1
    assert "pick one" in one_line_error(capsys)


@pytest.mark.parametrize(("command", "what"), [("inbox", "the inbox"), ("reset", "reset")])
def test_sandbox_only_commands_refuse_aws_before_calling_it(
    command: str, what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No credentials, no network: the refusal comes before anything is read on AWS."""
    assert main([command, "--aws", "--region", "eu-west-1"]) == 1
    assert one_line_error(capsys).startswith(f"skybook: {what} is sandbox-only: ")


def test_an_unreachable_aws_is_named_as_aws(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_retry_backoff: None
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    assert main(["flights", "--aws", "--region", "eu-west-1"]) == 1
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    assert one_line_error(capsys) == (
        f"skybook: cannot reach {endpoint} (AWS_ENDPOINT_URL): unset it to reach AWS"
    )


def test_a_closed_pipe_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """``skybook flights | head -1``: the reader went away; exit quietly."""

    def closed(args: object) -> int:
        raise BrokenPipeError

    monkeypatch.setattr("skybook.commands.browse.cmd_flights", closed)
    stdout = sys.stdout.fileno()  # under pytest's capture not 1 but its file's: restore that
    saved = os.dup(stdout)
    try:
        assert main(["flights"]) == 0
    finally:
        os.dup2(saved, stdout)
        os.close(saved)


def test_endpoint_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYBOOK_ENDPOINT", "http://127.0.0.1:5000/")
    assert context.sandbox_endpoint() == "http://127.0.0.1:5000"
    assert context.sandbox_endpoint("http://localhost:7/") == "http://localhost:7"
    monkeypatch.delenv("SKYBOOK_ENDPOINT")
    with pytest.raises(CliError):
        context.sandbox_endpoint()


def test_a_localstack_on_the_default_port_is_used_when_no_sandbox_of_ours_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``docker compose up`` publishes LocalStack there; the CLI needs no option for it."""
    with socketserver.TCPServer(("127.0.0.1", 0), _Health) as server:
        threading.Thread(target=server.serve_forever, kwargs=QUICK_SHUTDOWN, daemon=True).start()
        try:
            port = server.server_address[1]
            monkeypatch.setenv("SKYBOOK_PORT", str(port))
            assert context.sandbox_endpoint() == f"http://127.0.0.1:{port}"
        finally:
            server.shutdown()


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


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
