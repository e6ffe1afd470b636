"""Outputs read back from a deployed stack itself, with no outputs file and no settings."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from bootstrap import DeployError, deploy, outputs, stack_outputs
from bootstrap.settings import Settings
from bootstrap.target import Target

QUIET: dict[str, Any] = {"progress": lambda _text: None}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"event_log": True, "stage": "dev"},
        {"stack_name": "demo", "sender_domain": "example.com"},
    ],
    ids=["defaults", "event-log-and-stage", "other-stack-and-domain"],
)
def test_the_stack_gives_the_outputs_apply_gave(
    settings: Settings, target: Target, changes: dict[str, Any]
) -> None:
    settings = settings.with_(**changes)
    applied = deploy(settings, target, **QUIET).outputs
    settings.outputs_file.unlink()
    assert stack_outputs(target, settings.stack_name) == applied
    assert not settings.outputs_file.exists()


def test_outputs_writes_what_it_read(settings: Settings, target: Target) -> None:
    applied = deploy(settings, target, **QUIET).outputs
    settings.outputs_file.unlink()
    # Only the stack name counts: the other settings are read from the stack.
    assert outputs(settings.with_(stage="other", event_log=True), target) == applied
    assert settings.outputs_file.is_file()


def test_the_latest_deployed_stage_wins(settings: Settings, target: Target) -> None:
    deploy(settings, target, **QUIET)
    moved = deploy(settings.with_(stage="v2"), target, **QUIET).outputs
    assert stack_outputs(target)["stage"] == "v2"
    assert stack_outputs(target)["apiUrl"] == moved["apiUrl"]


def test_a_missing_stack_is_a_one_line_error_naming_target_and_fix(target: Target) -> None:
    with pytest.raises(DeployError) as raised:
        stack_outputs(target)
    message = str(raised.value)
    assert message.startswith("stack skybook is not (fully) deployed on AWS (")
    assert "function skybook-bookFlight missing" in message
    assert message.endswith("run 'python -m bootstrap apply'")
    assert "\n" not in message


def test_a_partly_deployed_stack_names_what_is_missing(settings: Settings, target: Target) -> None:
    deploy(settings, target, **QUIET)
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="skybook-failed-events")["QueueUrl"])
    with pytest.raises(DeployError, match="queue skybook-failed-events missing"):
        stack_outputs(target)
    # Another stack's resources are not this one's.
    with pytest.raises(DeployError, match="function other-bookFlight missing"):
        stack_outputs(target, "other")
