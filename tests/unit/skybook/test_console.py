"""The console without a sandbox: where it listens, its port, what it says when the sandbox
or the app is missing, and where it reads templates from."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from bootstrap import DeployError
from skybook import inbox
from skybook.console import ConsoleData, ConsoleServer, console_port
from skybook.console import data as console_data
from skybook.console import process as console_process
from tests.console_api import call


def test_console_binds_loopback_only_and_reports_a_taken_port() -> None:
    data = ConsoleData("http://127.0.0.1:9", outputs={"functions": {}})
    server = ConsoleServer(data, port=0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with pytest.raises(Exception, match=f"console port {server.port} .* already in use"):
            ConsoleServer(data, port=server.port)
    finally:
        server.stop()


def test_console_says_when_the_sandbox_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    outputs = {"endpoint": dead, "tableName": "t", "stack": "s", "functions": {"bookFlight": "b"}}
    with ConsoleServer(ConsoleData(dead, outputs=outputs), port=0) as server:
        status, body, _ = call(server, "/api/flights")
        assert status == 502 and f"cannot reach {dead}: is the sandbox running?" in body["error"]
        status, body, _ = call(server, "/api/inbox")
        assert status == 502 and "no sandbox answers" in body["error"]


def test_console_says_when_the_app_is_missing_and_sees_a_later_deploy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stack's outputs are read from the stack; a deploy shows up without a restart."""
    deployed: list[dict[str, Any]] = []

    def read(target: Any, stack: str) -> dict[str, Any]:
        if not deployed:
            raise DeployError(f"stack {stack} is not (fully) deployed on {target.endpoint}")
        return deployed[0]

    monkeypatch.setattr(console_data, "stack_outputs", read)
    data = ConsoleData("http://127.0.0.1:9", "s", outputs_ttl=0)
    with ConsoleServer(data, port=0) as server:
        status, body, _ = call(server, "/api/flights")
        assert status == 503
        assert body["error"] == "stack s is not (fully) deployed on http://127.0.0.1:9"
        assert call(server, "/api/info")[1]["deployed"] is False
        deployed.append({"stack": "s", "functions": {}})
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
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(Exception, match=f"console port {port} .* already in use"):
            console_process.start_detached("http://127.0.0.1:9", "s", port, tmp_path / "s")
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

    def not_deployed(target: Any, stack: str) -> dict[str, Any]:
        raise DeployError("not deployed")

    monkeypatch.setattr(inbox, "fetch_emails", fetch)
    monkeypatch.setattr(console_data, "stack_outputs", not_deployed)
    ConsoleData(endpoint="http://127.0.0.1:9/", outputs=outputs).inbox("a@example.com")
    assert asked == [("http://127.0.0.1:9", "a@example.com", region)]
