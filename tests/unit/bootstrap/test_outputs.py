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
        {
            "stack_name": "demo",
            "sender_domain": "skybook-demo.org",
            "sender_email": "bookings@skybook-demo.org",
        },
    ],
    ids=["defaults", "event-log-and-stage", "other-stack-and-domain"],
)
def test_the_stack_gives_the_outputs_apply_gave(
    settings: Settings, target: Target, changes: dict[str, Any]
) -> None:
    settings = settings.with_(**changes)
    applied = deploy(settings, target, **QUIET).outputs
    assert settings.outputs_file is not None
    settings.outputs_file.unlink()
    assert stack_outputs(target, settings.stack_name, settings.stage) == applied
    assert not settings.outputs_file.exists()


def test_outputs_writes_what_it_read(settings: Settings, target: Target) -> None:
    applied = deploy(settings, target, **QUIET).outputs
    assert settings.outputs_file is not None
    settings.outputs_file.unlink()
    # Only the stack name and stage count: the other settings are read from the stack.
    assert outputs(settings.with_(event_log=True, api_auth="iam"), target) == applied
    assert settings.outputs_file.is_file()


def test_no_outputs_file_unless_asked(settings: Settings, target: Target, tmp_path: Any) -> None:
    """Outputs are read from the stack: apply and outputs write a copy only when asked, so
    an AWS deploy never overwrites the sandbox's file."""
    unasked = settings.with_(outputs_file=None)
    before = set(tmp_path.rglob("*"))
    applied = deploy(unasked, target, **QUIET).outputs
    assert outputs(unasked, target) == applied
    assert set(tmp_path.rglob("*")) == before


def test_each_stage_is_read_by_its_stage(settings: Settings, target: Target) -> None:
    prod = deploy(settings, target, **QUIET).outputs
    dev = deploy(settings.with_(stage="dev"), target, **QUIET).outputs
    assert stack_outputs(target) == stack_outputs(target, "skybook", "prod") == prod
    assert stack_outputs(target, "skybook", "dev") == dev
    assert (dev["stage"], dev["deployment"], dev["tableName"]) == (
        "dev",
        "skybook-dev",
        "skybook-dev-flights",
    )
    assert dev["templates"] == [
        "skybook-dev-bookingReceiptTemplate",
        "skybook-dev-bookingRejectedTemplate",
    ]
    assert dev["apiId"] != prod["apiId"]


def test_a_missing_stack_is_a_one_line_error_naming_target_and_fix(target: Target) -> None:
    with pytest.raises(DeployError) as raised:
        stack_outputs(target)
    message = str(raised.value)
    assert message.startswith("stack skybook is not (fully) deployed on AWS (")
    assert "function skybook-bookFlight missing" in message
    assert message.endswith(
        "run 'python -m bootstrap apply' (or pass --stage S if it was deployed to another stage)"
    )
    assert "\n" not in message
    with pytest.raises(DeployError, match=r"^stack skybook at stage dev is not"):
        stack_outputs(target, "skybook", "dev")


def test_a_partly_deployed_stack_names_what_is_missing(settings: Settings, target: Target) -> None:
    deploy(settings, target, **QUIET)
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="skybook-failed-events")["QueueUrl"])
    with pytest.raises(DeployError, match="queue skybook-failed-events missing"):
        stack_outputs(target)
    # Another stack's resources are not this one's.
    with pytest.raises(DeployError, match="function other-bookFlight missing"):
        stack_outputs(target, "other")
