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

import psutil

from sandbox.control import spawn_detached
from skybook.console.data import ConsoleData
from skybook.console.errors import ConsoleError
from skybook.console.server import ConsoleServer
from skybook.polling import poll

RECORD = "console.json"
LOG = "console.log"
_URL_LINE = re.compile(r"^console: (http://\S+)", re.M)


def start_in_thread(
    endpoint: str,
    outputs: dict[str, Any],
    port: int,
    folder: Path | None = None,
) -> ConsoleServer:
    """Serve from a daemon thread of this process; raises ConsoleError (e.g. port taken).

    With ``folder``, the URL is recorded there so ``status`` can show it.
    """
    data = ConsoleData(endpoint, str(outputs.get("stack") or "skybook"), outputs)
    server = ConsoleServer(data, port).start()
    if folder is not None:
        record = {"pid": os.getpid(), "url": server.url, "inProcess": True}
        (folder / RECORD).write_text(json.dumps(record) + "\n")
    return server


def start_detached(
    endpoint: str, stack: str, port: int, folder: Path, timeout: float = 20.0
) -> str:
    """Spawn ``skybook console`` in its own session; its URL once it serves."""
    stop_detached(folder)  # a console left over from an earlier run of this sandbox
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / LOG
    command = [sys.executable, "-m", "skybook.cli", "console"]
    command += ["--endpoint", endpoint, "--stack-name", stack]
    process = spawn_detached(command, log, port=port)

    def serving() -> str | None:
        text = log.read_text(errors="replace")
        if match := _URL_LINE.search(text):
            return match.group(1)
        if process.poll() is not None:
            lines = text.strip().splitlines() or [f"exit code {process.returncode}"]
            raise ConsoleError(lines[-1].removeprefix("skybook: "))
        return None

    url = poll(serving, deadline=time.monotonic() + timeout, interval=0.05)
    if url is None:
        process.kill()
        process.wait()
        raise ConsoleError(f"the console did not start within {timeout:.0f}s; see {log}")
    (folder / RECORD).write_text(json.dumps({"pid": process.pid, "url": url}) + "\n")
    return url


def _argv(pid: int) -> list[str]:
    """The command line of a running process; [] for none (gone, a zombie, not ours to read)."""
    if pid <= 0:
        return []
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def _is_console(pid: int) -> bool:
    """Guards against a reused pid: only our own ``skybook.cli console`` is signalled."""
    argv = _argv(pid)
    return "skybook.cli" in argv and "console" in argv


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
    argv = _argv(pid)
    return any(arg.endswith("skybook") or arg == "skybook.cli" for arg in argv) and "up" in argv


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

        def ended() -> bool:
            _reap(pid)
            return not _runs(pid)

        if not poll(ended, deadline=time.monotonic() + timeout, interval=0.05) and _is_console(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _reap(pid)
    path.unlink(missing_ok=True)
    return running


def _runs(pid: int) -> bool:
    """Whether it still runs: it exists and is not a zombie. (A process's command line is gone
    while it exits, so :func:`_is_console` alone would call it stopped too early.)"""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _reap(pid: int) -> None:
    """Collect it if it is our child (the same process started it), so it leaves no zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
