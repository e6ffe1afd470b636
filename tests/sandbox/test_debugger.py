"""``skybook debug``: the function's next environment starts under debugpy on loopback and
waits; an IDE attaches (here a minimal DAP client, speaking what VS Code speaks), sets a
breakpoint in the local copy of the code, and the invocation stops there."""

from __future__ import annotations

import json
import socket
import textwrap
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import devmode
from sandbox.runner import free_port
from tests.sandbox.lambdas import invoke

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_lambda import LambdaClient

pytestmark = pytest.mark.sandbox

APP = textwrap.dedent(
    """\
    from common import helper

    def handler(event, context):
        return {"total": helper.add(event["a"], event["b"])}
    """
)
HELPER = textwrap.dedent(
    """\
    def add(a, b):
        total = a + b
        return total
    """
)
BREAKPOINT_LINE = 3  # in common/helper.py: return total


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


def test_breakpoint_is_hit_through_the_path_mappings(
    lam: LambdaClient, make_function: Callable[..., str], dev_file: Path, tmp_path: Path
) -> None:
    """A breakpoint in the IDE's copy of common/ (mapped as docs/debugging.md maps it) stops
    the invocation, and the stack names the IDE's file."""
    files = {"app.py": APP, "common/__init__.py": "", "common/helper.py": HELPER}
    name = make_function(files=files, timeout=3)  # timeouts are off while debugging
    functions = tmp_path / "functions"  # the IDE's working tree
    for rel, text in {"adder/app.py": APP, "common/helper.py": HELPER}.items():
        (functions / rel).parent.mkdir(parents=True, exist_ok=True)
        (functions / rel).write_text(text)
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
            pathMappings=[  # as in docs/debugging.md: common/ first, then the function's folder
                {"localRoot": str(functions / "common"), "remoteRoot": "/var/task/common"},
                {"localRoot": str(functions / "adder"), "remoteRoot": "/var/task"},
            ],
        )
        dap.wait_for("event", "initialized")
        helper = functions / "common" / "helper.py"
        dap.send(
            "setBreakpoints", source={"path": str(helper)}, breakpoints=[{"line": BREAKPOINT_LINE}]
        )
        reply = dap.wait_for("response", "setBreakpoints")
        assert reply["body"]["breakpoints"][0]["verified"], reply
        dap.send("configurationDone")
        stopped = dap.wait_for("event", "stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        assert not result.done()  # the invocation waits at the breakpoint

        dap.send("stackTrace", threadId=stopped["body"]["threadId"], levels=2)
        frames = dap.wait_for("response", "stackTrace")["body"]["stackFrames"]
        assert [(Path(f["source"]["path"]), f["line"]) for f in frames] == [
            (helper, BREAKPOINT_LINE),
            (functions / "adder" / "app.py", 4),
        ]
        dap.send("continue", threadId=stopped["body"]["threadId"])
        body, response = result.result(timeout=30)
    finally:
        dap.close()
    assert "FunctionError" not in response, body
    assert body == {"total": 5}
