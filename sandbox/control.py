"""Foreground and detached sandboxes, as ``up``/``down`` need them.

A detached sandbox is a ``python -m sandbox serve`` process in its own session
that owns LocalStack exactly like a foreground ``up`` does; ``down`` asks it to
stop (SIGTERM) and waits until every process of the sandbox is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sandbox.runner import Sandbox, SandboxError, SandboxSettings, alive


def serve(sandbox: Sandbox, on_ready: Callable[[Sandbox], None] | None = None) -> int:
    """Run the sandbox until SIGINT/SIGTERM/SIGHUP or until LocalStack dies; always clean up."""
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop_requested.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    # Only what this call started is stopped: a refused start (a sandbox already running in
    # this folder, say) must leave that other sandbox alone.
    sandbox.start()  # stops what it spawned itself if it fails half-way
    try:
        if on_ready is not None:
            on_ready(sandbox)
        while not stop_requested.wait(0.5):
            if sandbox.process is not None and sandbox.process.poll() is not None:
                print(
                    f"LocalStack exited unexpectedly (code {sandbox.process.returncode}); "
                    f"see {sandbox.log_file}",
                    file=sys.stderr,
                )
                return 1
        return 0
    finally:
        print("stopping the sandbox ...", file=sys.stderr, flush=True)
        sandbox.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)


def spawn_detached(
    command: list[str], log: Path, *, port: int | None = None
) -> subprocess.Popen[bytes]:
    """A process in its own session (survives the caller's terminal), output to ``log``."""
    if port is not None:
        command = [*command, "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_detached(settings: SandboxSettings, timeout: float = 90.0) -> Sandbox:
    """Spawn a detached ``serve`` process and return once its sandbox is ready."""
    sandbox = Sandbox(settings)
    sandbox.check_can_start()
    sandbox.dir.mkdir(parents=True, exist_ok=True)
    serve_log = sandbox.dir / "serve.log"
    proc = spawn_detached(
        [sys.executable, "-m", "sandbox", "serve", "--name", settings.name],
        serve_log,
        port=settings.port,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = serve_log.read_text(errors="replace").strip().splitlines()[-5:]
            raise SandboxError("the sandbox did not start: " + " | ".join(tail))
        record = sandbox.record()
        if record is not None and int(record.get("owner", 0)) == proc.pid and record.get("ready"):
            return sandbox
        time.sleep(0.1)
    proc.terminate()  # its own cleanup stops LocalStack; stop_detached sweeps the rest
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
    stop_detached(sandbox)
    raise SandboxError(f"the sandbox was not ready after {timeout:.0f}s; see {serve_log}")


def stop_detached(sandbox: Sandbox, timeout: float = 30.0) -> bool:
    """Stop the sandbox in this folder, whoever runs it; True if one was running."""
    record = sandbox.record()
    if record is None:
        return sandbox.stop()  # LocalStack may be gone while its Java or functions live on
    owner = int(record.get("owner", 0))
    if owner and owner != os.getpid() and alive(owner):
        with contextlib.suppress(ProcessLookupError):
            os.kill(owner, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (alive(owner) or sandbox.record() is not None):
            time.sleep(0.1)
    # The owner is gone (or never answered): make sure nothing of the sandbox survives.
    sandbox.stop()
    return True
