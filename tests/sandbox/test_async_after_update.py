"""Async events right after a function update are handled at once, as on AWS.

LocalStack 4.14's old event poller could hold such an event for the function's timeout + 60 s
(sandbox/lambda_executor/poller_fix.py explains why). With a 3 s timeout that is 63 s; every
event here must be handled well before that.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sandbox.paths import folder_shared_with_functions
from tests.conftest import SandboxUnderTest
from tests.sandbox.lambdas import function_updated, wait_until

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient

pytestmark = pytest.mark.sandbox

# Far below the timeout + 60 s the old poller held events for, far above a normal delivery.
HANDLED_WITHIN_S = 20.0
ROUNDS = 4

PRINTS_MARKER = """
import os
def handler(event, context):
    print("handled", event["marker"], "by", os.environ["ROUND"])
"""


def test_async_event_after_update_is_not_held(
    lam: LambdaClient, logs: CloudWatchLogsClient, make_function: Callable[..., str]
) -> None:
    """AWS: once an update is Successful, the new code handles async events right away."""
    name = make_function(PRINTS_MARKER, timeout=3, env={"ROUND": "0"})

    def handled(text: str) -> bool:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return False
        return any(text in e["message"] for e in events)

    for round_ in range(1, ROUNDS + 1):
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"ROUND": str(round_)}}
        )
        wait_until(function_updated(lam, name), what="update Successful")
        marker = uuid.uuid4().hex
        lam.invoke(
            FunctionName=name,
            InvocationType="Event",
            Payload=json.dumps({"marker": marker}).encode(),
        )
        expected = f"handled {marker} by {round_}"  # by the new configuration
        wait_until(
            lambda text=expected: handled(text),  # type: ignore[misc]
            timeout=HANDLED_WITHIN_S,
            what=f"round {round_}'s event to be handled",
        )


SLOW = """
import os, time
def handler(event, context):
    with open(event["runs"], "a") as f:  # a folder the test sees: logs reach CloudWatch late
        f.write("started\\n")
    time.sleep(2)
    with open(event["runs"], "a") as f:
        f.write(f"finished by {os.environ['ROUND']}\\n")
"""


@pytest.fixture
def shared_folder(sandbox: SandboxUnderTest) -> Iterator[Path]:
    """A folder the test reads and a function writes (the embedded sandbox's, or one in
    /var/tmp when the kit lives below /tmp)."""
    if sandbox.embedded is None:
        pytest.skip("needs a folder the test and the function share (the embedded sandbox's)")
    with folder_shared_with_functions(Path(sandbox.embedded.dir)) as shared:
        yield shared


def test_update_lets_the_invocation_in_flight_finish(
    lam: LambdaClient, make_function: Callable[..., str], shared_folder: Path
) -> None:
    """AWS: an update does not cut a running invocation short; it finishes on the old code,
    once (a killed one would fail, and its retry would run the new code)."""
    runs = shared_folder / f"runs-{uuid.uuid4().hex}"
    name = make_function(SLOW, timeout=10, env={"ROUND": "old"})
    lam.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"runs": str(runs)}).encode()
    )
    wait_until(runs.exists, what="the invocation to start")
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"ROUND": "new"}}
    )
    wait_until(function_updated(lam, name), what="update Successful")
    wait_until(
        lambda: "finished" in runs.read_text(),
        timeout=HANDLED_WITHIN_S,
        what="the invocation to finish",
    )
    assert runs.read_text().splitlines() == ["started", "finished by old"]
    runs.unlink()
