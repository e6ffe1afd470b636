"""Fixtures shared by every test: the sandbox under test and AWS clients for it.

The sandbox is, in order of preference:
- an already running one, when ``SKYBOOK_ENDPOINT`` is set (e.g. ``docker compose up``);
- LocalStack in Docker via testcontainers, when ``SKYBOOK_TEST_DOCKER=1`` (see
  ``tests/docker_sandbox.py``: configured from docker-compose.yml, the same ready.d hook);
- otherwise the embedded sandbox, started once per session on a free port (so it never
  collides with a running ``up``) and always stopped at the end, also on failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from bootstrap import Target

REGION = "us-east-1"


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (which no longer runs)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


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
        embedded.stop()


@pytest.fixture(scope="session")
def aws(sandbox: SandboxUnderTest) -> Callable[..., Any]:
    """``aws("lambda")`` -> a boto3 client for the sandbox."""
    return sandbox.client
