"""One function process as seen from the executor: spawn, framed control pipes, log capture.

Kept free of LocalStack imports so it can be tested (and reasoned about) on its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import struct
import subprocess
import threading
import time
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any

from sandbox.cpu_split import move_this_thread_to_helpers

# Must match runtime.LOG_MARKER and runtime.FDS_ENV (runtime.py imports nothing of ours).
LOG_MARKER = b"\x00SKYBOOK-LOG-END\x00"
FDS_ENV = "_SKYBOOK_RUNTIME"
_HEADER = struct.Struct(">I")
# How often the memory watchdog samples the function's RSS while it runs.
MEMORY_SAMPLE_S = 0.02
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


class ProcessGone(Exception):
    """The function process closed its control pipe (it exited or was killed)."""


class OutOfMemory(ProcessGone):
    """The watchdog killed the process: its resident memory passed the function's MemorySize."""


class _Spawner:
    """Starts every function process from one long-lived thread.

    PR_SET_PDEATHSIG (set by runtime.py) fires when the *thread* that forked the child exits, not
    the process; LocalStack's invocation threads come and go, so forking from them would kill
    warm functions at random.
    """

    def __init__(self) -> None:
        self._queue: SimpleQueue[tuple[Future[subprocess.Popen[bytes]], list[str], dict]] = (
            SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="skybook-lambda-spawner", daemon=True
                )
                self._thread.start()
        future: Future[subprocess.Popen[bytes]] = Future()
        self._queue.put((future, args, kwargs))
        return future.result()

    def _run(self) -> None:
        # Function processes start where this thread runs: off LocalStack's own core.
        move_this_thread_to_helpers()
        while True:
            future, args, kwargs = self._queue.get()
            try:
                future.set_result(subprocess.Popen(args, **kwargs))
            except BaseException as e:
                future.set_exception(e)


_SPAWNER = _Spawner()


class _MemoryWatchdog:
    """Samples the resident memory of every process whose reply is awaited, every
    MEMORY_SAMPLE_S, and kills one that passed its limit (AWS's cgroup kills at once; we are
    up to 20 ms late).

    One thread for all processes instead of each waiting invocation waking up every 20 ms:
    every such wake-up is a LocalStack thread wanting its GIL, which the busy gateway pays for.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watched: set[FunctionProcess] = set()
        self._thread: threading.Thread | None = None

    def watch(self, proc: FunctionProcess) -> None:
        with self._cond:
            self._watched.add(proc)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="skybook-lambda-memory", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def unwatch(self, proc: FunctionProcess) -> None:
        with self._cond:
            self._watched.discard(proc)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._watched:
                    self._cond.wait()
                procs = list(self._watched)
            for proc in procs:
                proc.check_memory()
            time.sleep(MEMORY_SAMPLE_S)


_WATCHDOG = _MemoryWatchdog()


class _LogPipe:
    """Reads the function's fd 1/2 in a thread; hands out the output up to each LOG_MARKER."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buf = bytearray()
        self._eof = False
        self._cond = threading.Condition()
        threading.Thread(target=self._run, name="skybook-lambda-logs", daemon=True).start()

    def _run(self) -> None:
        try:
            while chunk := os.read(self._fd, 65536):
                with self._cond:
                    self._buf += chunk
                    self._cond.notify_all()
        except OSError:
            pass
        finally:
            os.close(self._fd)
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def take(self, timeout: float) -> str:
        """Output up to the next marker; all that is there after ``timeout`` or at EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                idx = self._buf.find(LOG_MARKER)
                if idx >= 0:
                    out = bytes(self._buf[:idx])
                    del self._buf[: idx + len(LOG_MARKER)]
                    break
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    out = bytes(self._buf)
                    self._buf.clear()
                    break
                self._cond.wait(remaining)
        return out.decode("utf-8", errors="replace")


class FunctionProcess:
    """A running runtime.py: send it messages, receive its replies, collect its output."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        init_message: dict[str, Any],
        memory_limit_mb: int | None = None,
    ) -> None:
        """Start ``argv`` (runtime.py, maybe behind an exec wrapper) with ``env`` exactly.

        ``memory_limit_mb``: while a reply is awaited, the process is killed as soon as its
        resident memory passes this (``recv`` then raises OutOfMemory).
        """
        ctl_in_r, ctl_in_w = os.pipe()  # executor -> runtime
        ctl_out_r, ctl_out_w = os.pipe()  # runtime -> executor
        log_r, log_w = os.pipe()  # runtime fd 1 + 2 -> executor
        try:
            self.popen = _SPAWNER.popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_w,
                stderr=log_w,
                pass_fds=(ctl_in_r, ctl_out_w),
                env={**env, FDS_ENV: f"{ctl_in_r},{ctl_out_w},{os.getpid()}"},
                cwd=cwd,
                start_new_session=True,  # own process group: stop() kills what it started too
            )
        except BaseException:
            for fd in (ctl_in_w, ctl_out_r, log_r):  # ours too: nothing will read them
                os.close(fd)
            raise
        finally:
            for fd in (ctl_in_r, ctl_out_w, log_w):
                os.close(fd)
        self.pid = self.popen.pid
        self._in = ctl_in_w
        self._out = ctl_out_r
        # The watchdog's kill wakes the waiting recv through this pipe, even when something
        # outside the process group still holds the control pipe open.
        self._wake_r, self._wake_w = os.pipe()
        self._poll = select.poll()
        self._poll.register(self._out, select.POLLIN)
        self._poll.register(self._wake_r, select.POLLIN)
        self.logs = _LogPipe(log_r)
        self.started = time.perf_counter()
        self.last_maxrss_kb = 0
        self.memory_limit_kb = memory_limit_mb * 1024 if memory_limit_mb else None
        self.out_of_memory = False
        self._watch_lock = threading.Lock()
        self._watched = False  # the watchdog may kill it: set only while a reply is awaited
        self._statm: int | None = None  # /proc/<pid>/statm, kept open: cheap to re-read
        with contextlib.suppress(OSError):
            self._statm = os.open(f"/proc/{self.pid}/statm", os.O_RDONLY | os.O_CLOEXEC)
        self._closed = False
        # A child that died at once shows as ProcessGone on the first recv, which the
        # executor turns into Runtime.ExitError with the child's output.
        with contextlib.suppress(ProcessGone):
            self.send(init_message)

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        try:
            os.write(self._in, _HEADER.pack(len(data)))
            view = memoryview(data)
            while view:
                view = view[os.write(self._in, view) :]
        except (BrokenPipeError, OSError) as e:
            raise ProcessGone(str(e)) from e

    def recv(self, deadline: float | None) -> dict[str, Any]:
        """Next reply; TimeoutError once ``deadline`` (time.monotonic()) passes, OutOfMemory
        when the watchdog killed the process meanwhile."""
        if self.memory_limit_kb is not None:
            with self._watch_lock:
                self._watched = True
            _WATCHDOG.watch(self)
        try:
            header = self._read_exact(_HEADER.size, deadline)
            body = self._read_exact(_HEADER.unpack(header)[0], deadline)
        finally:
            if self.memory_limit_kb is not None:
                _WATCHDOG.unwatch(self)
                with self._watch_lock:
                    self._watched = False
        message: dict[str, Any] = json.loads(body)
        if "maxrss_kb" in message:
            self.last_maxrss_kb = message["maxrss_kb"]
        return message

    def _read_exact(self, n: int, deadline: float | None) -> bytes:
        chunks: list[bytes] = []
        while n:
            self._wait_readable(deadline)
            try:
                chunk = os.read(self._out, min(n, 1 << 20))
            except OSError as e:
                raise ProcessGone(str(e)) from e
            if not chunk:
                self._raise_if_out_of_memory()
                raise ProcessGone("control pipe closed")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _wait_readable(self, deadline: float | None) -> None:
        """Until the control pipe has data; TimeoutError at ``deadline``; OutOfMemory as soon
        as the watchdog killed the process."""
        while True:
            self._raise_if_out_of_memory()
            wait_s = None if deadline is None else deadline - time.monotonic()
            if wait_s is not None and wait_s <= 0:
                raise TimeoutError
            timeout_ms = -1 if wait_s is None else max(1, int(wait_s * 1000))
            ready = dict(self._poll.poll(timeout_ms))
            if self._out in ready:
                return

    def _raise_if_out_of_memory(self) -> None:
        if self.out_of_memory:
            raise OutOfMemory(f"resident memory passed {(self.memory_limit_kb or 0) // 1024} MB")

    def check_memory(self) -> None:
        """The watchdog's sample: kill the process group once the RSS passes the limit."""
        # All under the lock that _close() takes too: the pipe and statm descriptors may not
        # be closed (and their numbers reused elsewhere) while they are read or written here.
        with self._watch_lock:
            if self._closed or not self._watched or self.memory_limit_kb is None:
                return
            if self.out_of_memory or self.rss_kb() <= self.memory_limit_kb:
                return
            self.out_of_memory = True
            self.last_maxrss_kb = self.memory_limit_kb
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)  # reaped by the waiting invocation
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"!")

    def rss_kb(self) -> int:
        if self._statm is None:
            return 0
        try:
            return int(os.pread(self._statm, 64, 0).split()[1]) * _PAGE_KB
        except (OSError, IndexError, ValueError):
            return 0

    def exited(self) -> bool:
        """Whether the process has ended, without reaping it: reaping first would free its pid
        (and process-group id) for reuse before kill() signals the group."""
        if self.popen.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None or self._leader_dead()

    def _leader_dead(self) -> bool:
        """Its main thread is a zombie: the process is dying, though waitid shows nothing
        until its other threads are gone too (a killed runtime's threads take a while to
        exit on a busy machine; an invocation sent meanwhile would fail for nothing)."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as stat:
                state = stat.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        return state in (b"Z", b"X")

    def kill(self) -> None:
        """Kill the process group (the function's children too) and reap the process."""
        with self._watch_lock:
            self._watched = False  # the watchdog must not signal a pid we are about to free
        if self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self.wait()

    def wait(self, timeout: float = 5.0) -> int | None:
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._close()
        return code

    def _close(self) -> None:
        with self._watch_lock:
            self._watched = False
            if self._closed:
                return
            self._closed = True
            for fd in (self._in, self._out, self._wake_r, self._wake_w, self._statm):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)

    def exit_description(self) -> str:
        """The process's end as Go's os.ProcessState prints it (what AWS's messages contain)."""
        code = self.popen.returncode
        if code is None:
            return "unknown"
        if code < 0:
            try:
                name = signal.strsignal(-code) or f"signal {-code}"
            except ValueError:
                name = f"signal {-code}"
            return f"signal: {name.lower()}"
        return f"exit status {code}"

    def exit_message(self) -> str:
        """What AWS says when a runtime process ends on its own (e.g. os._exit, sys.exit(0))."""
        if self.popen.returncode == 0:
            return "Runtime exited without providing a reason"
        return f"Runtime exited with error: {self.exit_description()}"


def interpreter_version(executable: str, timeout: float = 10.0) -> tuple[str, str] | None:
    """(real executable, "3.X") if ``executable`` runs, else None (pyenv shims may not)."""
    try:
        out = subprocess.run(
            [
                executable,
                "-I",
                "-S",
                "-c",
                "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])",
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            stdin=subprocess.DEVNULL,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    real = out[0].strip() or executable
    return real, out[1].strip()


__all__ = ["LOG_MARKER", "FunctionProcess", "OutOfMemory", "ProcessGone", "interpreter_version"]
