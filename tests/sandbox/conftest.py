"""Stop-gap ``sandbox`` fixture for the Lambda executor tests.

TEMPORARY: tests/conftest.py is meant to provide the ``sandbox`` fixture (via sandbox.runner).
Until it does, this one starts LocalStack itself with the process executor on a free port. Once
the shared fixture exists, delete the fixture below (it would shadow the shared one here).

Knobs (environment): SKYBOOK_TEST_LOCALSTACK_PYTHON (a Python with localstack-core 4.14.0 and
this repo installed), SKYBOOK_LAMBDA_SITE (boto3 for functions), SKYBOOK_LAMBDA_INTERPRETERS.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

LOCALSTACK_PYTHON = os.environ.get("SKYBOOK_TEST_LOCALSTACK_PYTHON", "/tmp/lsprobe/venv/bin/python")
LAMBDA_SITE = os.environ.get("SKYBOOK_LAMBDA_SITE", "/tmp/lexec-site")


@dataclass
class LocalSandbox:
    endpoint: str
    lambda_log_dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSandbox]:
    if not Path(LOCALSTACK_PYTHON).exists():
        pytest.skip(f"no LocalStack Python at {LOCALSTACK_PYTHON}")
    root = tmp_path_factory.mktemp("localstack")
    port = _free_port()
    log_dir = root / "lambda-logs"
    env = {
        **os.environ,
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(root / "fs"),
        "DNS_ADDRESS": "0",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "LAMBDA_RUNTIME_EXECUTOR": "process",
        "SERVICES": "lambda,logs,iam,sts",
        "SKYBOOK_LAMBDA_SITE": LAMBDA_SITE,
        "SKYBOOK_LAMBDA_LOG_DIR": str(log_dir),
    }
    env.pop("PYTHONPATH", None)
    with (root / "localstack.log").open("wb") as out:
        proc = subprocess.Popen(
            [LOCALSTACK_PYTHON, "-m", "localstack.runtime.main"],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"LocalStack did not start; see {root / 'localstack.log'}"
                    ) from None
                time.sleep(0.1)
        yield LocalSandbox(endpoint, log_dir)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
