"""Start, watch and stop one embedded LocalStack on the host.

A sandbox is a folder (its LocalStack filesystem root, logs and a pid record)
plus a process group. Every process it spawns (LocalStack, DynamoDB Local's
Java, function processes) carries ``SKYBOOK_SANDBOX_ID`` in its environment,
so ``stop`` finds and ends them all, even ones that left the process group.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import cpu_split as cpus
from sandbox.devmode import DEV_FILE_ENV, FILE_NAME
from sandbox.paths import Paths
from sandbox.setup import is_ready

DEFAULT_SERVICES = (
    "lambda",
    "events",
    "dynamodb",
    "ses",
    "apigateway",
    "iam",
    "logs",
    "sts",
    "sqs",
)
MARKER = "SKYBOOK_SANDBOX_ID"
INIT_STAGES = ("boot", "start", "ready", "shutdown")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Variables of the caller's Python that must not leak into LocalStack's interpreter.
_PYTHON_VARS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYENV_VERSION", "PYTHONSTARTUP")


class SandboxError(Exception):
    """A problem the user can fix; the message is one line saying how."""


@dataclass(frozen=True)
class SandboxSettings:
    """What to run: read from the environment once, overridable per call."""

    name: str = "default"
    host: str = "127.0.0.1"
    port: int = 4566
    services: tuple[str, ...] = DEFAULT_SERVICES
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # LocalStack init hooks by stage ("boot", "start", "ready", "shutdown"): copied into
    # <fs>/etc/localstack/init/<stage>.d, where host-mode LocalStack looks for them and runs
    # them itself, exactly as the Docker image runs a mounted /etc/localstack/init.
    init_hooks: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    # Start DynamoDB Local's JVM (several seconds) in the background once the gateway is up,
    # so the first table call does not pay for it.
    prewarm_dynamodb: bool = True
    # LocalStack on a core of its own, the processes it starts on the others (sandbox.cpu_split).
    cpu_split: bool = True

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise SandboxError(
                f"sandbox name {self.name!r} is invalid: use letters, digits, '-' and '_'"
            )
        if not 0 < self.port < 65536:
            raise SandboxError(f"port {self.port} is out of range: use 1 to 65535")
        for stage, hooks in self.init_hooks.items():
            if stage not in INIT_STAGES:
                raise SandboxError(f"init stage {stage!r} is unknown: use one of {INIT_STAGES}")
            for hook in hooks:
                if not Path(hook).is_file():
                    raise SandboxError(f"init hook {hook} does not exist")

    @classmethod
    def from_env(cls, **overrides: Any) -> SandboxSettings:
        values: dict[str, Any] = {}
        if name := os.environ.get("SKYBOOK_SANDBOX"):
            values["name"] = name
        if port := os.environ.get("SKYBOOK_PORT"):
            if not port.isdigit():
                raise SandboxError(f"SKYBOOK_PORT={port!r} is not a port number: use e.g. 4566")
            values["port"] = int(port)
        if services := os.environ.get("SKYBOOK_SERVICES"):
            values["services"] = tuple(s.strip() for s in services.split(",") if s.strip())
        try:
            values["cpu_split"] = cpus.wanted(os.environ.get(cpus.SETTING, ""))
        except ValueError as e:
            raise SandboxError(str(e)) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded here, never in a forked child


def _prctl(option: int, value: int) -> None:
    _LIBC.prctl(option, value)


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the starting process dies."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _before_exec(localstack_cpus: frozenset[int] | None) -> Callable[[], None]:
    """What LocalStack's child runs before exec: dies with its parent, starts on
    ``localstack_cpus`` (so every thread it will have starts there too)."""

    def run() -> None:
        _die_with_parent()
        if localstack_cpus is not None:
            os.sched_setaffinity(0, localstack_cpus)

    return run


def marked_pids(sandbox_id: str) -> list[int]:
    """Every live process whose environment carries this sandbox's id."""
    needle = f"{MARKER}={sandbox_id}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def with_descendants(roots: list[int]) -> list[int]:
    """``roots`` plus every live process below them (function processes carry no marker)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found and alive(pid):
            found.add(pid)
            todo.extend(children.get(pid, []))
    return sorted(found)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Sandbox:
    """One embedded LocalStack; ``with Sandbox(...)`` starts it and always stops it."""

    def __init__(self, settings: SandboxSettings | None = None, paths: Paths | None = None):
        self.settings = settings or SandboxSettings.from_env()
        self.paths = paths or Paths.from_env()
        self.dir = self.paths.sandbox_dir(self.settings.name)
        self.process: subprocess.Popen[bytes] | None = None
        self._id: str | None = None  # of the sandbox this object started
        self.keep_folder = False  # temporary_sandbox: keep the logs although the block passed

    # --- where things are -------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / "localstack.log"

    @property
    def lambda_log_dir(self) -> Path:
        return self.dir / "logs" / "lambda"

    @property
    def init_dir(self) -> Path:
        """Where LocalStack on the host reads init hooks (``/etc/localstack/init`` in Docker)."""
        return self.dir / "fs" / "etc" / "localstack" / "init"

    @property
    def tmp_dir(self) -> Path:
        """LocalStack's temporary folder (the unzipped function code is in it)."""
        return self.dir / "tmp"

    @property
    def lambda_env_dir(self) -> Path:
        """One folder per Lambda execution environment (its /tmp fallback, code copies)."""
        return self.dir / "lambda-envs"

    @property
    def dev_file(self) -> Path:
        """What hot reload and ``skybook debug`` ask of the Lambda executor (sandbox.devmode)."""
        return self.dir / FILE_NAME

    @property
    def record_file(self) -> Path:
        return self.dir / "sandbox.json"

    def _saved_record(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.record_file.read_text())
        except (OSError, ValueError):
            return None
        return data

    def record(self) -> dict[str, Any] | None:
        """The pid record of a running sandbox in this folder, or None.

        The pid must still carry this sandbox's marker: a stale record whose pid was reused
        (after a reboot, say) never makes us refuse to start or signal a stranger.
        """
        data = self._saved_record()
        if data is None or int(data["pid"]) not in marked_pids(str(data.get("id"))):
            return None
        return data

    def check_can_start(self) -> None:
        """One-line refusals, before anything is spawned."""
        if running := self.record():
            raise SandboxError(
                f"a sandbox is already running at {running['endpoint']} (pid {running['pid']}): "
                "use it, or stop it with ./scripts/down"
            )
        host, port = self.settings.host, self.settings.port
        if port_in_use(host, port):
            raise SandboxError(
                f"port {port} on {host} is already in use: stop what uses it, "
                "or pick another port with --port (or SKYBOOK_PORT)"
            )

    # --- lifecycle ----------------------------------------------------------
    def start(self, *, timeout: float = 60.0) -> None:
        """Start LocalStack and wait until it answers; it dies with the calling process.

        The caller becomes a child subreaper: processes LocalStack leaves orphaned
        (DynamoDB Local runs in its own session) are reparented to it and reaped by
        ``stop`` instead of lingering as zombies under PID 1. A detached sandbox is
        this same call made by a detached ``serve`` process (see ``sandbox.control``).
        """
        if not is_ready(self.paths):
            raise SandboxError("the sandbox is not installed yet: run ./scripts/setup")
        self.check_can_start()
        sandbox_id = self._id = uuid.uuid4().hex
        split = cpus.for_this_process() if self.settings.cpu_split else None
        env = self._environment(sandbox_id)
        env.pop(cpus.HELPER_CPUS_ENV, None)
        if split is not None:
            env.update(split.env())
        self._prepare_dirs()
        log = self.log_file.open("wb")
        started = time.time()
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        self.process = subprocess.Popen(
            [str(self.paths.localstack_python), "-m", "localstack.runtime.main"],
            cwd=self.dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_before_exec(split.localstack if split else None),
        )
        log.close()
        self.record_file.write_text(
            json.dumps(
                {
                    "pid": self.process.pid,
                    "owner": os.getpid(),
                    "id": sandbox_id,
                    "endpoint": self.endpoint,
                    "port": self.settings.port,
                    "started": started,
                    "log": str(self.log_file),
                    "cpus": split.as_record() if split else None,
                },
                indent=2,
            )
        )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        record = json.loads(self.record_file.read_text())
        record["ready"] = time.time()
        self.record_file.write_text(json.dumps(record, indent=2))
        if self.settings.prewarm_dynamodb and "dynamodb" in self.settings.services:
            threading.Thread(target=self._prewarm_dynamodb, daemon=True).start()

    def _prewarm_dynamodb(self) -> None:
        """Any DynamoDB call makes LocalStack start DynamoDB Local; signatures are not checked."""
        request = urllib.request.Request(
            self.endpoint,
            data=b"{}",
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/"
                "aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=120).close()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SandboxError(
                    f"LocalStack exited with code {self.process.returncode} while starting; "
                    f"see {self.log_file}:\n{self.log_tail()}"
                )
            if self._answers() and b"Ready." in self.log_file.read_bytes():
                return
            time.sleep(0.05)
        raise SandboxError(f"LocalStack was not ready after {timeout:.0f}s; see {self.log_file}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_localstack/health", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def health(self) -> dict[str, Any]:
        """LocalStack's service states, from the running sandbox's recorded endpoint."""
        record = self.record()
        endpoint = record["endpoint"] if record else self.endpoint
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=5) as r:
            data: dict[str, Any] = json.load(r)
            return data

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop LocalStack and everything it started; True if anything was running."""
        record = self.record()
        saved = record or self._saved_record()
        # The id also when LocalStack already died: its Java and functions may live on.
        sandbox_id: str | None = self._id or (saved["id"] if saved else None)
        if record is None and self.process is None and not (sandbox_id and marked_pids(sandbox_id)):
            self.record_file.unlink(missing_ok=True)
            return False
        if record is not None:
            pid = int(record["pid"])
        elif self.process is not None:
            pid = self.process.pid
        else:
            pid = int(saved["pid"]) if saved else 0
        seen: set[int] = set(with_descendants(marked_pids(sandbox_id))) if sandbox_id else set()
        if pid and alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)  # graceful: LocalStack stops DynamoDB Local
        deadline = time.monotonic() + timeout
        while pid and alive(pid) and time.monotonic() < deadline:
            self._reap(seen)
            time.sleep(0.05)
        for _ in range(100):  # then nothing may survive: the group and every marked process
            leftovers = (
                set(with_descendants(marked_pids(sandbox_id))) - {os.getpid()}
                if sandbox_id
                else set()
            )
            seen |= leftovers
            if pid and alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            for leftover in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(leftover, signal.SIGKILL)
            self._reap(seen)
            if not leftovers and not (pid and alive(pid)):
                break
            time.sleep(0.05)
        self._reap(seen)
        self.record_file.unlink(missing_ok=True)
        self.process = None
        self._id = None
        return True

    def _reap(self, pids: set[int]) -> None:
        """Collect exit codes of LocalStack and of the orphans reparented to us."""
        if self.process is not None:
            self.process.poll()
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pids(self) -> list[int]:
        """Every live process of the sandbox: marked ones and all their descendants."""
        record = self.record()
        return with_descendants(marked_pids(record["id"])) if record else []

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- internals ------------------------------------------------------------
    def _prepare_dirs(self) -> None:
        """Fresh LocalStack state each start (nothing persists), logs kept one generation."""
        fs = self.dir / "fs"
        if fs.exists():
            shutil.rmtree(fs)
        static = fs / "usr" / "lib" / "localstack"
        static.parent.mkdir(parents=True)
        static.symlink_to(self.paths.static_libs)
        for stage, hooks in self.settings.init_hooks.items():
            folder = self.init_dir / f"{stage}.d"
            folder.mkdir(parents=True, exist_ok=True)
            for hook in hooks:
                shutil.copy2(hook, folder / Path(hook).name)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if self.log_file.exists():
            self.log_file.replace(self.log_file.with_suffix(".log.1"))
        if self.lambda_log_dir.exists():
            shutil.rmtree(self.lambda_log_dir)
        self.lambda_log_dir.mkdir(parents=True)
        self.dev_file.unlink(missing_ok=True)  # watch and debug end with the sandbox
        for scratch in (self.tmp_dir, self.lambda_env_dir):
            if scratch.exists():
                _make_removable(scratch)
                shutil.rmtree(scratch)
            scratch.mkdir(parents=True)

    def _environment(self, sandbox_id: str) -> dict[str, str]:
        s, p = self.settings, self.paths
        # TMPDIR/TMP would win over the TEMP set below (see there)
        env = {k: v for k, v in os.environ.items() if k not in (*_PYTHON_VARS, "TMPDIR", "TMP")}
        env["PATH"] = f"{p.localstack_venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        env.update(
            {
                "GATEWAY_LISTEN": f"{s.host}:{s.port}",
                "LOCALSTACK_HOST": f"{s.host}:{s.port}",
                # This machine looks like a container; without this LocalStack ignores
                # FILESYSTEM_ROOT and writes to /var/lib/localstack.
                "OVERRIDE_IN_DOCKER": "0",
                "FILESYSTEM_ROOT": str(self.dir / "fs"),
                "DNS_ADDRESS": "0",
                "SKIP_SSL_CERT_DOWNLOAD": "1",
                "DISABLE_EVENTS": "1",
                "SERVICES": ",".join(s.services),
                "LAMBDA_RUNTIME_EXECUTOR": "process",
                # LocalStack's own calls between services (EventBridge invoking a function,
                # Lambda and EventBridge writing CloudWatch Logs) go straight into its handler
                # chain instead of over HTTP to itself: the same handlers, a third less CPU
                # per internal call (docs/performance.md).
                "IN_MEMORY_CLIENT": "1",
                "SKYBOOK_LAMBDA_INTERPRETERS": p.interpreters_file.read_text(),
                "SKYBOOK_LAMBDA_SITE": str(p.lambda_site),
                "SKYBOOK_LAMBDA_LOG_DIR": str(self.lambda_log_dir),
                "SKYBOOK_LAMBDA_ENV_DIR": str(self.lambda_env_dir),
                "SKYBOOK_LAMBDA_DEBUG_SITE": str(p.debug_site),
                DEV_FILE_ENV: str(self.dev_file),
                # LocalStack unzips function code below its temporary folder: here, not in
                # /tmp, which every sandbox and user of the machine shares and nobody cleans,
                # and where a function's private /tmp (a tmpfs over /tmp) would hide it.
                # (TEMP, which Python's tempfile reads too: TMPDIR is a deprecated setting of
                # LocalStack's and would be warned about.)
                "TEMP": str(self.tmp_dir),
                MARKER: sandbox_id,
            }
        )
        # Nothing persists across starts, so its SQLite file bought nothing: in memory,
        # DynamoDB Local spent a sixth to a third less CPU per booking (docs/performance.md).
        env.setdefault("DYNAMODB_IN_MEMORY", "1")
        # DynamoDB Local is the only Java here: the client compiler and serial GC halve its
        # start-up on two cores and shrink its footprint; IPv4 sockets let the shim below
        # bind it to 127.0.0.1 (a dual-stack ::1 socket would refuse IPv4 clients). Its temp
        # folder is the sandbox's: DynamoDB Local unpacks a native sqlite library into it on
        # every start and never removes it (in /tmp, one 881 KB file per start, forever).
        env.setdefault(
            "JAVA_TOOL_OPTIONS",
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.net.preferIPv4Stack=true "
            f"-Djava.io.tmpdir={self.tmp_dir}",
        )
        # Loopback only: a wildcard bind by LocalStack or DynamoDB Local lands on loopback
        # (function processes get their own environment, as on AWS).
        env["LD_PRELOAD"] = " ".join(
            part for part in (str(p.loopback_shim), env.get("LD_PRELOAD", "")) if part
        )
        env.update(s.extra_env)
        return env


def _make_removable(root: Path) -> None:
    """Function code copies are read-only (chmod'ed where no read-only mount is possible)."""
    for dirpath, _dirnames, _filenames in os.walk(root):
        with contextlib.suppress(OSError):
            os.chmod(dirpath, 0o755)


@contextlib.contextmanager
def temporary_sandbox(
    prefix: str, stop_timeout: float = 15.0, **settings: Any
) -> Iterator[Sandbox]:
    """A started sandbox on a free port, in folder ``<prefix>-<port>``; always stopped (given
    ``stop_timeout`` s to exit gracefully), and its folder removed unless the block failed or
    set ``keep_folder`` (the logs say why)."""
    port = free_port()
    sandbox = Sandbox(SandboxSettings.from_env(name=f"{prefix}-{port}", port=port, **settings))
    sandbox.start()
    ok = False
    try:
        yield sandbox
        ok = True
    finally:
        sandbox.stop(timeout=stop_timeout)
        if ok and not sandbox.keep_folder:
            _make_removable(sandbox.dir)
            shutil.rmtree(sandbox.dir, ignore_errors=True)
        else:
            print(f"sandbox logs kept in {sandbox.dir}", file=sys.stderr)
