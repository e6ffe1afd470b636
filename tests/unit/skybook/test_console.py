"""The console without a sandbox: where it listens, its port, what it says when the sandbox
or the app is missing, and where it reads templates from."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from skybook import inbox
from skybook.console import ConsoleData, ConsoleServer, console_port
from skybook.console import process as console_process
from tests.console_api import call


def test_console_binds_loopback_only_and_reports_a_taken_port() -> None:
    server = ConsoleServer(ConsoleData("http://127.0.0.1:9", {"functions": {}}), port=0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with pytest.raises(Exception, match=f"console port {server.port} .* already in use"):
            ConsoleServer(ConsoleData("http://127.0.0.1:9", {}), port=server.port)
    finally:
        server.stop()


def test_console_says_when_the_sandbox_is_down_or_the_app_missing(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    outputs = {"endpoint": dead, "tableName": "t", "stack": "s", "functions": {"bookFlight": "b"}}
    with ConsoleServer(ConsoleData(dead, outputs), port=0) as server:
        status, body, _ = call(server, "/api/flights")
        assert status == 502 and f"no sandbox answers at {dead}" in body["error"]
        status, body, _ = call(server, "/api/inbox")
        assert status == 502 and "no sandbox answers" in body["error"]
    missing = tmp_path / "outputs.json"
    with ConsoleServer(ConsoleData(None, outputs_file=missing), port=0) as server:
        status, body, _ = call(server, "/api/flights")
        assert status == 503 and "not deployed" in body["error"]
        assert call(server, "/api/info")[1]["deployed"] is False
        missing.write_text(json.dumps(outputs))  # a deploy writes it: picked up, no restart
        assert call(server, "/api/info")[1]["deployed"] is True


def test_console_port_flag_then_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKYBOOK_CONSOLE_PORT", raising=False)
    assert console_port() == 4580
    monkeypatch.setenv("SKYBOOK_CONSOLE_PORT", "4999")
    assert console_port() == 4999
    assert console_port(5000) == 5000
    monkeypatch.setenv("SKYBOOK_CONSOLE_PORT", "x")
    with pytest.raises(Exception, match="SKYBOOK_CONSOLE_PORT"):
        console_port()


def test_detached_console_reports_a_taken_port(tmp_path: Path) -> None:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text("{}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(Exception, match=f"console port {port} .* already in use"):
            console_process.start_detached("http://127.0.0.1:9", outputs_file, port, tmp_path / "s")
    assert not (tmp_path / "s" / console_process.RECORD).exists()


@pytest.mark.parametrize(
    ("outputs", "region"),
    [({"stack": "s", "region": "eu-west-1"}, "eu-west-1"), (None, "us-east-1")],
)
def test_the_console_reads_templates_in_the_stacks_region(
    monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any] | None, region: str
) -> None:
    """The console passes the deployed stack's region; before a deploy, the default one."""
    asked: list[tuple[str, str | None, str]] = []

    def fetch(endpoint: str, *, to: str | None = None, region: str = "") -> list[Any]:
        asked.append((endpoint, to, region))
        return []

    monkeypatch.setattr(inbox, "fetch_emails", fetch)
    ConsoleData(endpoint="http://127.0.0.1:9/", outputs=outputs).inbox("a@example.com")
    assert asked == [("http://127.0.0.1:9", "a@example.com", region)]
