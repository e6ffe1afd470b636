"""EventBridge's CloudWatch Logs target, as the sandbox runs it
(``sandbox/speedups/events_log_target.py``): each event in a stream of its own, the event as
JSON, also when LocalStack's own way is taken (a metric filter)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SandboxUnderTest
from tests.sandbox.lambdas import wait_until


@pytest.fixture
def logged_source(sandbox: SandboxUnderTest) -> Iterator[tuple[str, str]]:
    """A rule on the default bus sending events of a new source to a new log group."""
    events, logs = sandbox.client("events"), sandbox.client("logs")
    tag = uuid.uuid4().hex[:10]
    source, group, rule = f"t.{tag}", f"/aws/events/t-{tag}", f"t-log-{tag}"
    logs.create_log_group(logGroupName=group)
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "log", "Arn": arn.removesuffix(":*")}])
    yield source, group
    events.remove_targets(Rule=rule, Ids=["log"])
    events.delete_rule(Name=rule)
    logs.delete_log_group(logGroupName=group)


def _put(sandbox: SandboxUnderTest, source: str, detail: dict[str, Any]) -> None:
    entry = {"Source": source, "DetailType": "test", "Detail": json.dumps(detail)}
    assert sandbox.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_each_event_gets_a_stream_of_its_own_with_the_event_as_json(
    sandbox: SandboxUnderTest, logged_source: tuple[str, str]
) -> None:
    source, group = logged_source
    logs = sandbox.client("logs")
    for n in range(3):
        _put(sandbox, source, {"n": n})

    def streams() -> list[dict[str, Any]]:
        found = logs.describe_log_streams(logGroupName=group)["logStreams"]
        return found if len(found) == 3 else []

    found = wait_until(streams, what="three streams")
    seen = []
    for stream in found:
        [event] = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])[
            "events"
        ]
        message = json.loads(event["message"])
        assert message["source"] == source and message["detail-type"] == "test"
        seen.append(message["detail"]["n"])
    assert sorted(seen) == [0, 1, 2]


def test_with_a_metric_filter_the_event_takes_localstacks_own_way_and_is_logged(
    sandbox: SandboxUnderTest, logged_source: tuple[str, str]
) -> None:
    # LocalStack's PutLogEvents checks metric filters (the sandbox has no CloudWatch service
    # to receive the metrics, so only the logging itself can be seen here).
    source, group = logged_source
    logs = sandbox.client("logs")
    logs.put_metric_filter(
        logGroupName=group,
        filterName="all",
        filterPattern="",
        metricTransformations=[{"metricName": "N", "metricNamespace": "T", "metricValue": "1"}],
    )
    try:
        _put(sandbox, source, {"n": 1})
        [event] = wait_until(
            lambda: logs.filter_log_events(logGroupName=group)["events"], what="the event logged"
        )
        assert json.loads(event["message"])["detail"] == {"n": 1}
    finally:
        logs.delete_metric_filter(logGroupName=group, filterName="all")
