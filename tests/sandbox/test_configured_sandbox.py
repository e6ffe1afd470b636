"""The executor under settings a sandbox of its own is started with.

Where Linux gives no mount namespaces (forced here with SKYBOOK_LAMBDA_ISOLATION=off), the
executor falls back to what a normal user can do, and says so in the log:

- the task root is a copy without write bits: a non-root function cannot write there
  (EACCES, where AWS says EROFS); root ignores file modes, so for root it is not enforced;
- /tmp is a per-environment folder (TMPDIR), empty when the environment starts; its size is
  not enforced, and code that writes to "/tmp" by name shares the host's.

LocalStack's LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES (a string in the environment) sets
the response limit, with AWS's error for it.

Without the CPU split (SKYBOOK_CPU_SPLIT=0), LocalStack and its function processes may run on
every CPU the caller may.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config

from sandbox.runner import Sandbox, temporary_sandbox
from tests.conftest import QUICK_STOP, REGION, SandboxUnderTest, thread_cpus
from tests.sandbox.lambdas import create_python_function, invoke

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

pytestmark = pytest.mark.sandbox
LIMIT = 2000

PROBES = """
import errno, os, stat, tempfile, time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    task = os.environ["LAMBDA_TASK_ROOT"]
    tmp = tempfile.gettempdir()
    open(os.path.join(tmp, event.get("write", "x")), "w").close()
    try:
        open(os.path.join(task, "new.txt"), "w").close()
        write = "written"
    except OSError as e:
        write = errno.errorcode[e.errno]
    modes = [stat.S_IMODE(os.stat(p).st_mode) for p in (task, os.path.join(task, "app.py"))]
    return {"tmp": tmp, "files": sorted(os.listdir(tmp)), "write": write, "modes": modes,
            "pid": os.getpid(), "cpus": sorted(os.sched_getaffinity(0))}
"""


@pytest.fixture(scope="module")
def configured(sandbox: SandboxUnderTest) -> Iterator[tuple[Sandbox, LambdaClient]]:
    if sandbox.kind != "embedded":
        pytest.skip("needs an embedded sandbox of its own")
    with temporary_sandbox(
        "test-configured",
        stop_timeout=QUICK_STOP,
        extra_env={
            "SKYBOOK_LAMBDA_ISOLATION": "off",
            "LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES": str(LIMIT),
        },
        services=("lambda", "logs", "sts", "iam", "sqs"),
        prewarm_dynamodb=False,
        cpu_split=False,
    ) as own:
        lam = boto3.client(
            "lambda",
            endpoint_url=own.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, read_timeout=60),
        )
        yield own, lam


def test_fallback_task_root_and_tmp(configured: tuple[Sandbox, LambdaClient]) -> None:
    own, lam = configured
    create_python_function(lam, "probe", PROBES)
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda m: invoke(lam, "probe", {"write": m, "sleep": 1})[0], ["a", "b"])
        )
    assert results[0]["pid"] != results[1]["pid"]
    for result, mine in zip(results, ["a", "b"], strict=True):
        assert result["tmp"].startswith(str(own.lambda_env_dir))  # per environment ...
        assert result["files"] == [mine]  # ... and empty at its start
        assert result["modes"] == [0o555, 0o555]  # no write bits in the task root
        if os.geteuid() != 0:
            assert result["write"] == errno.errorcode[errno.EACCES]
        else:
            assert result["write"] == "written"  # root: file modes do not bind it (documented)
    assert "cannot use mount namespaces here" in own.log_file.read_text()


def test_configured_response_limit(configured: tuple[Sandbox, LambdaClient]) -> None:
    _, lam = configured
    create_python_function(lam, "big", "def handler(e, c):\n    return 'x' * e['n']\n")
    body, response = invoke(lam, "big", {"n": 100})
    assert body == "x" * 100
    body, response = invoke(lam, "big", {"n": LIMIT})
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": (
            f"Response payload size exceeded maximum allowed payload size ({LIMIT} bytes)."
        ),
    }


def test_without_the_cpu_split_every_cpu_is_shared(
    configured: tuple[Sandbox, LambdaClient],
) -> None:
    own, lam = configured
    everywhere = tuple(sorted(os.sched_getaffinity(0)))
    create_python_function(lam, "cpus", PROBES)
    assert tuple(invoke(lam, "cpus")[0]["cpus"]) == everywhere
    record = own.record()
    assert record is not None and record["cpus"] is None
    assert set(thread_cpus(record["pid"])) == {everywhere}
