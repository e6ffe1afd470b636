"""``skybook debug``: the function's next environment starts under debugpy on loopback and
waits; an IDE attaches (here a minimal DAP client, speaking what VS Code speaks), sets a
breakpoint in the local copy of the code, and the invocation stops there."""

from __future__ import annotations

import json
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import devmode
from sandbox.runner import free_port
from tests.conftest import SandboxUnderTest
from tests.sandbox.lambdas import invoke

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_lambda import LambdaClient

pytestmark = pytest.mark.sandbox

APP = textwrap.dedent(
    """\
    def handler(event, context):
        total = event["a"] + event["b"]
        return {"total": total}
    """
)
BREAKPOINT_LINE = 3  # return {"total": total}


class Dap:
    """Just enough of the Debug Adapter Protocol to attach, break and continue."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.reader = self.sock.makefile("rb")
        self.seq = 0
        self.messages: list[dict[str, Any]] = []

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def send(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        body = json.dumps(
            {"seq": self.seq, "type": "request", "command": command, "arguments": arguments}
        ).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def _read(self) -> dict[str, Any]:
        length = 0
        while (line := self.reader.readline().strip()) != b"":
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        message: dict[str, Any] = json.loads(self.reader.read(length))
        self.messages.append(message)
        return message

    def wait_for(self, kind: str, name: str) -> dict[str, Any]:
        """The next response to ``name`` (kind "response") or event ``name``."""
        key = "command" if kind == "response" else "event"
        while True:
            message = self._read()
            if message["type"] == kind and message.get(key) == name:
                return message


@pytest.fixture
def dev_file(sandbox: SandboxUnderTest) -> Iterator[Path]:
    if sandbox.embedded is None:
        pytest.skip("debugging needs the embedded sandbox's dev file")
    path: Path = sandbox.embedded.dev_file
    yield path
    devmode.update(path, lambda state: state.debug.clear())


def test_breakpoint_is_hit_through_the_path_mapping(
    lam: LambdaClient, make_function: Callable[..., str], dev_file: Path, tmp_path: Path
) -> None:
    name = make_function(APP, timeout=3)  # timeouts are off while debugging
    local = tmp_path / "functions" / "adder"  # where the IDE has the code
    local.mkdir(parents=True)
    (local / "app.py").write_text(APP)
    port = free_port()
    devmode.update(dev_file, lambda state: state.debug.__setitem__(name, {"port": port}))

    result: Future[Any] = Future()
    threading.Thread(
        target=lambda: result.set_result(invoke(lam, name, {"a": 2, "b": 3})), daemon=True
    ).start()

    dap = Dap(port)  # the environment is waiting for us
    try:
        dap.send("initialize", adapterID="python", clientID="skybook-test", pathFormat="path")
        dap.wait_for("response", "initialize")
        dap.send(
            "attach",
            justMyCode=True,
            pathMappings=[{"localRoot": str(local), "remoteRoot": "/var/task"}],
        )
        dap.wait_for("event", "initialized")
        dap.send(
            "setBreakpoints",
            source={"path": str(local / "app.py")},
            breakpoints=[{"line": BREAKPOINT_LINE}],
        )
        reply = dap.wait_for("response", "setBreakpoints")
        assert reply["success"], reply
        dap.send("configurationDone")
        stopped = dap.wait_for("event", "stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        assert not result.done()  # the invocation waits at the breakpoint

        dap.send("stackTrace", threadId=stopped["body"]["threadId"], levels=1)
        top = dap.wait_for("response", "stackTrace")["body"]["stackFrames"][0]
        assert top["line"] == BREAKPOINT_LINE
        assert Path(top["source"]["path"]) == local / "app.py"  # mapped back to the IDE's copy
        dap.send("continue", threadId=stopped["body"]["threadId"])
        body, response = result.result(timeout=30)
    finally:
        dap.close()
    assert "FunctionError" not in response, body
    assert body == {"total": 5}
