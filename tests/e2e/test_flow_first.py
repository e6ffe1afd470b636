"""Under a backlog of asynchronous invocations, an API request waits for the event flow
(``sandbox/speedups/flow_first.py``): the kit's own LocalStack keeps the flow current."""

from __future__ import annotations

import contextlib
import os
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from sandbox.speedups import SWITCH_ENV, chosen, flow_first
from tests.conftest import SandboxUnderTest
from tests.e2e.conftest import App
from tests.sandbox.lambdas import create_python_function, wait_until

SLOW = """
import time

def handler(event, context):
    time.sleep(0.2)
    print("DONE", repr(time.time()))
"""


def test_an_api_request_waits_while_async_invocations_are_behind(
    app: App, sandbox: SandboxUnderTest
) -> None:
    if sandbox.embedded is None:
        pytest.skip("only the kit's own LocalStack has the flow-first gate")
    if "flow_first" not in chosen(os.environ.get(SWITCH_ENV, ""))[0] or (
        flow_first.backlog_limit() != flow_first.DEFAULT_BACKLOG
    ):
        pytest.skip("the flow-first gate is set otherwise in this environment")
    lam = sandbox.client("lambda")
    name = f"t-slow-{uuid.uuid4().hex[:8]}"
    try:
        create_python_function(lam, name, SLOW, Timeout=10)
        queued = flow_first.DEFAULT_BACKLOG + 4
        for _ in range(queued):
            lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")

        started = time.monotonic()
        answer = app.post({})  # refused by bookFlight (400), after the gate let it through
        answered, took = time.time(), time.monotonic() - started
        assert answer.status == 400
        assert took < flow_first.MAX_WAIT_S, "let through by finished invocations, not timed out"

        group = f"/aws/lambda/{name}"
        logs = sandbox.client("logs")

        def finished() -> list[float]:
            with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
                pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
                lines = [e["message"] for page in pages for e in page["events"]]
                done = [float(line.split()[1]) for line in lines if line.startswith("DONE ")]
                return done if len(done) == queued else []
            return []

        done = wait_until(finished, timeout=30, what="every queued invocation finished")
        # The gate opens once fewer than the limit are queued or running.
        before = sum(t < answered for t in done)
        assert before >= queued - flow_first.DEFAULT_BACKLOG + 1, (before, sorted(done))

        started = time.monotonic()
        assert app.post({}).status == 400
        assert time.monotonic() - started < flow_first.MAX_WAIT_S, "the backlog went down to 0"
    finally:
        with contextlib.suppress(ClientError):
            lam.delete_function(FunctionName=name)
