"""Fixtures shared by every test: the sandbox under test and AWS clients for it.

The sandbox is, in order of preference:
- an already running one, when ``SKYBOOK_ENDPOINT`` is set (e.g. ``docker compose up``);
- LocalStack in Docker via testcontainers, when ``SKYBOOK_TEST_DOCKER=1`` (see
  ``tests/docker_sandbox.py``: configured from docker-compose.yml, the same ready.d hook);
- otherwise the embedded sandbox, started once per session on a free port (so it never
  collides with a running ``up``) and always stopped at the end, also on failure.

The run itself: tests marked ``slow`` (mostly waiting: a schedule, a sandbox of their own, a
load run, a browser) are left out unless ``--all`` or ``SKYBOOK_TEST_ALL=1`` is given (CI runs
them); pytest's temporary files go to ``.skybook/pytest``, emptied at the start of each run.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from bootstrap import Target

REGION = "us-east-1"
# What a test sandbox gets to exit on SIGTERM before stop() kills what is left: it has nothing
# to save, and LocalStack's graceful shutdown takes seconds (``down`` is tested on its own).
QUICK_STOP = 1.0
REPO = Path(__file__).resolve().parents[1]
_SLOW_LEFT_OUT = pytest.StashKey[int]()


# --- the run: slow tests, temporary files ----------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all",
        action="store_true",
        dest="run_all",
        help="also run the tests marked slow (as CI does); or set SKYBOOK_TEST_ALL=1",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Temporary files under the project, not /tmp/pytest-of-<user> (which outlives runs)."""
    if config.option.basetemp is None:
        config.option.basetemp = str(REPO / ".skybook" / "pytest")


def _wants_slow(config: pytest.Config) -> bool:
    return (
        bool(config.getoption("run_all"))
        or os.environ.get("SKYBOOK_TEST_ALL") == "1"
        or "slow" in (config.option.markexpr or "")  # -m slow: the user chose
    )


def _named(config: pytest.Config) -> list[str]:
    """Node ids the command line names (``path::test``): those run even when slow."""
    named = []
    for arg in config.invocation_params.args:
        path, sep, rest = str(arg).partition("::")
        where = (config.invocation_params.dir / path).resolve()
        if sep and where.is_relative_to(config.rootpath):
            named.append(f"{where.relative_to(config.rootpath)}::{rest}")
    return named


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _one_worker_for_the_sandbox(items)
    if _wants_slow(config):
        return
    named = _named(config)
    slow = [
        item
        for item in items
        if item.get_closest_marker("slow") and not any(item.nodeid.startswith(n) for n in named)
    ]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item not in slow]
    config.stash[_SLOW_LEFT_OUT] = len(slow)


def _one_worker_for_the_sandbox(items: list[pytest.Item]) -> None:
    """With workers (``-n 2 --dist loadgroup``, as ./scripts/test runs), the tests of a sandbox
    (the shared one, their own, the slow ones) run on one worker, one after the other, while
    the others run the rest: one session sandbox, and sandboxes never compete with each other."""
    for item in items:
        if (
            "sandbox" in getattr(item, "fixturenames", ())
            or item.get_closest_marker("sandbox")
            or item.get_closest_marker("slow")
        ):
            item.add_marker(pytest.mark.xdist_group("sandbox"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker tells the controller how many slow tests it left out (it collected them)."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["slow_left_out"] = session.config.stash.get(_SLOW_LEFT_OUT, 0)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: the controller hears each worker
def pytest_testnodedown(node: Any, error: Any) -> None:
    left_out = getattr(node, "workeroutput", {}).get("slow_left_out", 0)
    node.config.stash[_SLOW_LEFT_OUT] = max(node.config.stash.get(_SLOW_LEFT_OUT, 0), left_out)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if left_out := config.stash.get(_SLOW_LEFT_OUT, 0):
        terminalreporter.write_line(
            f"{left_out} slow tests left out: "
            "./scripts/test --all (or SKYBOOK_TEST_ALL=1) runs them"
        )


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (which no longer runs)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def thread_cpus(pid: int) -> Counter[tuple[int, ...]]:
    """How many of a process's threads may run on which CPUs (affinity is per thread); empty
    once the process is gone."""
    found: Counter[tuple[int, ...]] = Counter()
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):  # a thread that just ended
                found[tuple(sorted(os.sched_getaffinity(int(task.name))))] += 1
    return found


@dataclass
class SandboxUnderTest:
    """What tests need to know of the sandbox, whatever runs it."""

    endpoint: str
    kind: str  # "embedded" | "external" | "docker"
    embedded: Any = None  # sandbox.runner.Sandbox when kind == "embedded"
    extra: dict[str, Any] = field(default_factory=dict)
    _target: Target | None = field(default=None, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client for the sandbox (bootstrap's: test credentials, fails fast)."""
        if self._target is None:
            self._target = Target.local(self.endpoint, REGION)
        return self._target.client(service)

    @property
    def lambda_log_dir(self) -> Path | None:
        return self.embedded.lambda_log_dir if self.embedded else None


def _prune_old_test_sandboxes() -> None:
    """Keep only the folders (logs) of test sandboxes from the last run or still running."""
    import shutil

    from sandbox.paths import Paths
    from sandbox.runner import Sandbox, SandboxSettings

    root = Paths.from_env().sandboxes
    for folder in root.glob("test-*") if root.exists() else []:
        if Sandbox(SandboxSettings(name=folder.name)).record() is None:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxUnderTest]:
    if os.environ.get("LOCALSTACK_ENDPOINT"):
        pytest.exit("LOCALSTACK_ENDPOINT was renamed: set SKYBOOK_ENDPOINT instead", returncode=2)
    if endpoint := os.environ.get("SKYBOOK_ENDPOINT"):
        yield SandboxUnderTest(endpoint=endpoint.rstrip("/"), kind="external")
        return
    if os.environ.get("SKYBOOK_TEST_DOCKER") == "1":
        from tests.docker_sandbox import docker_sandbox

        for url in docker_sandbox():
            yield SandboxUnderTest(endpoint=url, kind="docker")
        return
    from sandbox.runner import Sandbox, SandboxSettings, free_port

    _prune_old_test_sandboxes()
    port = free_port()
    # Lambda's async retries wait 1 s x attempt instead of 60 s: the fault tests exercise the
    # same retry path without minutes of waiting.
    settings = SandboxSettings.from_env(
        name=f"test-{port}", port=port, extra_env={"LAMBDA_RETRY_BASE_DELAY": "1"}
    )
    embedded = Sandbox(settings)
    embedded.start()
    try:
        yield SandboxUnderTest(endpoint=embedded.endpoint, kind="embedded", embedded=embedded)
    finally:
        embedded.stop(timeout=QUICK_STOP)


@pytest.fixture(scope="session")
def aws(sandbox: SandboxUnderTest) -> Callable[..., Any]:
    """``aws("lambda")`` -> a boto3 client for the sandbox."""
    return sandbox.client
