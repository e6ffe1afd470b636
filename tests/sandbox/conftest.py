"""Fixtures of the executor tests: one-attempt clients and functions made from inline source."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox import devmode
from tests.conftest import REGION, SandboxUnderTest
from tests.sandbox.lambdas import ROLE, zip_of
from tests.sandbox.lambdas import wait_active as wait_for_active

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.literals import RuntimeType
    from mypy_boto3_logs import CloudWatchLogsClient


def _one_attempt(sandbox: SandboxUnderTest) -> dict[str, Any]:
    """Client arguments for the sandbox with one attempt: a retried invoke would hide what the
    executor did (``sandbox.client`` retries)."""
    return {
        "endpoint_url": sandbox.endpoint,
        "region_name": REGION,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "config": Config(retries={"max_attempts": 1}, read_timeout=60),
    }


@pytest.fixture(scope="module")
def lam(sandbox: SandboxUnderTest) -> LambdaClient:
    return boto3.client("lambda", **_one_attempt(sandbox))


@pytest.fixture(scope="module")
def logs(sandbox: SandboxUnderTest) -> CloudWatchLogsClient:
    return boto3.client("logs", **_one_attempt(sandbox))


@pytest.fixture
def make_function(lam: LambdaClient) -> Iterator[Callable[..., str]]:
    """Create a function from inline source and wait until it is Active; deleted afterwards."""
    created: list[str] = []

    def make(
        source: str | None = None,
        *,
        files: dict[str, str] | None = None,
        modes: dict[str, int] | None = None,
        handler: str = "app.handler",
        runtime: RuntimeType = "python3.13",
        timeout: int = 10,
        memory: int = 128,
        ephemeral_mb: int = 512,
        env: dict[str, str] | None = None,
        wait_active: bool = True,
        layers: list[str] | None = None,
    ) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        lam.create_function(
            FunctionName=name,
            Runtime=runtime,
            Handler=handler,
            Role=ROLE,
            Code={"ZipFile": zip_of(files or {"app.py": source or ""}, modes)},
            Timeout=timeout,
            MemorySize=memory,
            EphemeralStorage={"Size": ephemeral_mb},
            Environment={"Variables": env or {}},
            Layers=layers or [],
        )
        created.append(name)
        if wait_active:
            wait_for_active(lam, name)
        return name

    yield make
    for name in created:
        # already deleted, or Failed (which LocalStack 4.14 cannot delete): fine either way
        with contextlib.suppress(ClientError):
            lam.delete_function(FunctionName=name)


@pytest.fixture
def dev_file(sandbox: SandboxUnderTest) -> Iterator[Path]:
    """The embedded sandbox's dev file (watch and debug mode), cleared after the test."""
    if sandbox.embedded is None:
        pytest.skip("needs the embedded sandbox's dev file")
    path: Path = sandbox.embedded.dev_file
    yield path

    def clear(state: devmode.DevState) -> None:
        state.watch, state.watcher, state.generations, state.debug = {}, None, {}, {}

    devmode.update(path, clear)
