"""``skybook up --docker``: docker-compose.yml's LocalStack, driven like the embedded sandbox.

Needs only Docker with its compose plugin (and the kit's venv): nothing of the embedded
setup. The ready.d hook inside the container deploys and seeds the app; this waits until
LocalStack reports every hook ``SUCCESSFUL`` (failing at once, with the log's tail, when one
ended in ``ERROR``), prints what to do next, and in the foreground follows the logs until
Ctrl-C, then removes the containers, as ``up`` stops the embedded sandbox.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.init_status import FAILED, HEALTHY, InitStatus, read_status
from skybook.errors import CliError

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DEFAULT_PORT = 4566
READY_TIMEOUT = 600.0  # a first run pulls the LocalStack and the Lambda runtime images


@dataclass(frozen=True)
class Compose:
    """``docker compose`` on the kit's compose file, publishing LocalStack on ``port``."""

    docker: str
    port: int = DEFAULT_PORT

    @classmethod
    def find(cls, port: int | None = None) -> Compose:
        """The Docker CLI with a reachable engine and compose v2, or a one-line CliError."""
        docker = shutil.which("docker")
        if docker is None:
            raise CliError(
                "docker is not installed: install Docker (with compose), or drop --docker "
                "to run the embedded sandbox"
            )
        compose = cls(docker, port or DEFAULT_PORT)
        if compose.run(["info"], capture=True).returncode != 0:
            raise CliError(
                "no Docker engine is reachable (docker info failed): start Docker, or drop "
                "--docker to run the embedded sandbox"
            )
        if compose.run(["compose", "version"], capture=True).returncode != 0:
            raise CliError(
                "the Docker compose plugin is missing (docker compose version failed): "
                "install Docker Compose v2"
            )
        return compose

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(
        self, args: Sequence[str], *, capture: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.docker, *args], cwd=REPO, env=self._env, text=True, capture_output=capture
        )

    def compose(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        return self.run([*self._compose, *args], capture=capture)

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        """A long-running compose command (``logs --follow``), output to the terminal."""
        return subprocess.Popen([self.docker, *self._compose, *args], cwd=REPO, env=self._env)

    @property
    def _compose(self) -> list[str]:
        return ["compose", "--file", str(COMPOSE_FILE)]

    @property
    def _env(self) -> dict[str, str]:
        return {**os.environ, "SKYBOOK_PORT": str(self.port)}

    def running(self) -> bool:
        result = self.compose("ps", "--quiet", capture=True)
        return result.returncode == 0 and bool(result.stdout.strip())

    def logs_tail(self, lines: int = 40) -> str:
        result = self.compose(
            "logs", "--no-color", "--tail", str(lines), "localstack", capture=True
        )
        return (result.stdout + result.stderr).rstrip()

    def down(self) -> None:
        self.compose("down", "--remove-orphans", capture=True)


def wait_ready(
    compose: Compose,
    *,
    timeout: float = READY_TIMEOUT,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> None:
    """Until every ready.d hook succeeded; CliError naming the failure, with the log's tail."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        status: InitStatus = read_status(compose.endpoint)
        if status.code == HEALTHY:
            progress(status.describe())
            return
        line = status.describe()
        if line != last:
            progress(f"  {line}")
            last = line
        if status.code == FAILED or time.monotonic() > deadline:
            waited = "" if status.code == FAILED else f"after {timeout:.0f}s: "
            raise CliError(
                f"{waited}{line}\n--- docker compose logs localstack (tail) ---\n"
                f"{compose.logs_tail()}\n---\nsee all with: docker compose logs localstack"
            )
        time.sleep(1.0)


def up(*, detach: bool, port: int | None, on_ready: Callable[[str], None]) -> int:
    """Start compose's LocalStack, wait for the app, then return (detach) or follow the logs
    until Ctrl-C or SIGTERM; the containers are removed then, and whenever the start fails."""
    compose = Compose.find(port)
    print(f"starting LocalStack in Docker ({COMPOSE_FILE.name}) ...", file=sys.stderr, flush=True)
    if compose.compose("up", "--detach").returncode != 0:
        raise CliError("docker compose up failed (its message is above)")
    try:
        wait_ready(compose)
        on_ready(compose.endpoint)
        if detach:
            print("stop it with ./scripts/down (docker compose down)")
            return 0
        return follow_until_stopped(compose)
    except BaseException:
        compose.down()
        raise


def follow_until_stopped(compose: Compose) -> int:
    """Show LocalStack's log until SIGINT/SIGTERM (then 0) or until the container ends (1),
    and remove the containers either way. Signals only set a flag, so the clean-up runs
    whatever the process was doing when they came."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    print("following LocalStack's log; Ctrl-C stops it", file=sys.stderr, flush=True)
    logs = compose.popen("logs", "--follow", "--since", "1s", "localstack")
    try:
        while not stop.wait(0.5):
            if logs.poll() is not None:  # the log ends only when the container does
                print("LocalStack's container stopped unexpectedly", file=sys.stderr, flush=True)
                return 1
        return 0
    finally:
        logs.terminate()
        logs.wait()
        print("stopping LocalStack in Docker ...", file=sys.stderr, flush=True)
        compose.down()
        print("stopped", file=sys.stderr, flush=True)


def down() -> bool:
    """Remove compose's containers if any run; False when none (or no Docker at all)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    compose = Compose(docker)
    if not compose.running():
        return False
    compose.down()
    return True
