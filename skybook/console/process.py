"""The console beside a sandbox, as ``up`` runs it.

Foreground ``up``: a daemon thread of the same process, gone when ``up`` ends. ``up
--detach``: a detached ``skybook console`` process whose pid and URL are kept in
``console.json`` in the sandbox's folder, so ``down`` stops it with the sandbox.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from sandbox.control import spawn_detached
from skybook.console.server import ConsoleData, ConsoleError, ConsoleServer

RECORD = "console.json"
LOG = "console.log"
_URL_LINE = re.compile(r"^console: (http://\S+)", re.M)


def start_in_thread(
    endpoint: str,
    outputs: dict[str, Any],
    outputs_file: Path | None,
    port: int,
    folder: Path | None = None,
) -> ConsoleServer:
    """Serve from a daemon thread of this process; raises ConsoleError (e.g. port taken).

    With ``folder``, the URL is recorded there so ``status`` can show it.
    """
    data = ConsoleData(endpoint, outputs, outputs_file=outputs_file)
    server = ConsoleServer(data, port).start()
    if folder is not None:
        record = {"pid": os.getpid(), "url": server.url, "inProcess": True}
        (folder / RECORD).write_text(json.dumps(record) + "\n")
    return server


def start_detached(
    endpoint: str, outputs_file: Path, port: int, folder: Path, timeout: float = 20.0
) -> str:
    """Spawn ``skybook console`` in its own session; its URL once it serves."""
    stop_detached(folder)  # a console left over from an earlier run of this sandbox
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / LOG
    command = [sys.executable, "-m", "skybook.cli", "console"]
    command += ["--endpoint", endpoint, "--outputs-file", str(outputs_file.resolve())]
    process = spawn_detached(command, log, port=port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if match := _URL_LINE.search(text):
            url = match.group(1)
            (folder / RECORD).write_text(json.dumps({"pid": process.pid, "url": url}) + "\n")
            return url
        if process.poll() is not None:
            lines = text.strip().splitlines() or [f"exit code {process.returncode}"]
            raise ConsoleError(lines[-1].removeprefix("skybook: "))
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise ConsoleError(f"the console did not start within {timeout:.0f}s; see {log}")


def _is_console(pid: int) -> bool:
    """Guards against a reused pid: only our own ``skybook.cli console`` is signalled."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"skybook.cli" in argv and b"console" in argv


def recorded_url(folder: Path) -> str | None:
    """The URL of the detached console of this sandbox folder, if it still runs."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None
    pid = int(record.get("pid", 0))
    running = _is_console(pid) or (record.get("inProcess") and _is_foreground_up(pid))
    return str(record["url"]) if running else None


def _is_foreground_up(pid: int) -> bool:
    """The ``skybook up`` that serves the console in a thread (a reused pid is not)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(arg.endswith(b"skybook") or arg == b"skybook.cli" for arg in argv) and b"up" in argv


def stop_detached(folder: Path, timeout: float = 5.0) -> bool:
    """Stop the detached console of this sandbox folder; True if one was running."""
    path = folder / RECORD
    try:
        pid = int(json.loads(path.read_text()).get("pid", 0))
    except (OSError, ValueError):
        return False
    running = pid > 0 and _is_console(pid)
    if running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_console(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if _is_console(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _reap(pid)
    path.unlink(missing_ok=True)
    return running


def _reap(pid: int) -> None:
    """Collect it if it is our child (the same process started it), so it leaves no zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
