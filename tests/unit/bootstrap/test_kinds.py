"""The kinds of resources on their own: the registry, each kind's diff, the waits.

Diffs are pure (a model, what exists, the known values), so they are tested without an
account; the apply tests cover reading and writing on moto.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bootstrap.errors import DeployError
from bootstrap.models import Statement, Sub, ref
from bootstrap.resources import KINDS, deletion_order, kind_of
from bootstrap.resources.base import Context
from bootstrap.resources.event_invoke_config import EventInvokeConfig, InvokeConfig
from bootstrap.resources.function import Code, Function, FunctionConfig, FunctionState
from bootstrap.resources.lambda_permission import LambdaPermission, LambdaPermissionState
from bootstrap.resources.queue import Queue, QueueState
from bootstrap.resources.rest_api import ApiRoute, RestApi, RestApiState, fingerprint
from bootstrap.resources.rule import Rule, RuleSettings, RuleState, Target, TargetState
from bootstrap.settings import Settings
from bootstrap.stack import desired_stack
from bootstrap.target import Target as Where

KNOWN = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "fn.arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
    "dlq.arn": "arn:aws:sqs:us-east-1:123456789012:dlq",
}
FN_ARN, DLQ_ARN = KNOWN["fn.arn"], KNOWN["dlq.arn"]


def test_every_kind_of_the_stack_is_registered_once(settings: Settings) -> None:
    stack = desired_stack(settings.with_(event_log=True))
    assert {r.kind for r in stack} == set(KINDS)
    assert all(kind_of(r.kind).model is type(r) for r in stack)


def test_dependents_are_deleted_before_what_they_need() -> None:
    assert [kind.name for kind in deletion_order()] == [
        "Rule",
        "LambdaPermission",
        "EventInvokeConfig",
        "RestApi",
        "Function",
        "Role",
        "LogResourcePolicy",
        "LogGroup",
        "SesTemplate",
        "SesIdentity",
        "Queue",
        "Table",
        "EventBus",
    ]


def queue_state(policy: Mapping[str, object] | None, retention: int = 1_209_600) -> QueueState:
    text = None if policy is None else json.dumps(policy)
    return QueueState(arn=DLQ_ARN, url="https://q/dlq", policy=text, retention=retention)


def test_a_queue_policy_compares_by_meaning() -> None:
    queue = Queue(
        "dlq", policy=(Statement(("sqs:SendMessage",), (ref("dlq"),), principal_service="x"),)
    )
    diff = kind_of("Queue").diff
    same = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"Service": "x"},
            "Action": "sqs:SendMessage",
            "Resource": DLQ_ARN,
        },
    }
    assert diff(queue, queue_state(same), KNOWN) == []
    assert diff(queue, queue_state(None, retention=60), KNOWN) == ["policy", "retention"]
    # A queue that should have no policy but has one: removing it is a change too.
    assert diff(Queue("dlq"), queue_state(same), KNOWN) == ["policy"]


def rule_state(*targets: TargetState, schedule: str | None = None) -> RuleState:
    return RuleState(
        arn="arn:rule",
        settings=RuleSettings(pattern=None, schedule=schedule, state="ENABLED", description=""),
        targets=targets,
    )


def test_rule_targets_differ_in_retry_and_dead_letters_too() -> None:
    rule = Rule(
        "r", schedule="rate(1 day)", targets=(Target("t", ref("fn"), dead_letter_arn=ref("dlq")),)
    )
    diff = kind_of("Rule").diff
    wanted = TargetState("t", FN_ARN, retry=(8, 3600), dead_letter_arn=DLQ_ARN)
    assert diff(rule, rule_state(wanted, schedule="rate(1 day)"), KNOWN) == []
    no_retry = TargetState("t", FN_ARN, dead_letter_arn=DLQ_ARN)
    assert diff(rule, rule_state(no_retry, schedule="rate(1 day)"), KNOWN) == ["targets"]
    no_dlq = TargetState("t", FN_ARN, retry=(8, 3600))
    assert diff(rule, rule_state(no_dlq, schedule="rate(1 day)"), KNOWN) == ["targets"]
    assert diff(rule, rule_state(wanted, schedule="rate(1 hour)"), KNOWN) == ["rule"]
    assert wanted.params() == {
        "Id": "t",
        "Arn": FN_ARN,
        "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600},
        "DeadLetterConfig": {"Arn": DLQ_ARN},
    }


def test_a_function_config_is_compared_with_references_resolved() -> None:
    function = Function(
        "fn", role=ref("role"), code=Code(b"", "sha"), environment={"BUS": ref("bus", "name")}
    )
    known = {**KNOWN, "role.arn": "arn:role", "bus.name": "the-bus"}
    config = FunctionConfig("arn:role", "app.handler", "python3.13", 10, 256, {"BUS": "the-bus"})
    state = FunctionState(arn=FN_ARN, sha256="sha", config=config)
    diff = kind_of("Function").diff
    assert diff(function, state, known) == []
    assert diff(function, state, {**known, "bus.name": "other"}) == ["config"]
    assert diff(function, FunctionState(FN_ARN, "old", config), known) == ["code"]


def test_a_permission_for_another_source_is_replaced() -> None:
    permission = LambdaPermission("p", "fn", "events.amazonaws.com", ref("fn"))
    diff = kind_of("LambdaPermission").diff
    state = LambdaPermissionState("events.amazonaws.com", FN_ARN, "lambda:InvokeFunction")
    assert diff(permission, state, KNOWN) == []
    other = LambdaPermissionState("events.amazonaws.com", "arn:other", "lambda:InvokeFunction")
    assert diff(permission, other, KNOWN) == ["source"]


def test_an_invoke_config_with_a_success_destination_is_put_back() -> None:
    config = EventInvokeConfig("fn", on_failure=ref("dlq"))
    diff = kind_of("EventInvokeConfig").diff
    assert diff(config, InvokeConfig(2, 3600, DLQ_ARN), KNOWN) == []
    assert diff(config, InvokeConfig(2, 3600, DLQ_ARN, on_success="arn:x"), KNOWN) == ["config"]


def test_an_api_is_redeployed_when_what_it_routes_to_changes() -> None:
    api = RestApi("api", stage="prod", routes=(ApiRoute("book", "POST", ref("fn")),))
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN_ARN}/invocations"
    state = RestApiState(
        id="a1",
        root="r",
        routes={("book", "POST"): ("AWS_PROXY", uri)},
        fingerprint=fingerprint(api, KNOWN),
    )
    diff = kind_of("RestApi").diff
    assert diff(api, state, KNOWN) == []
    moved = {**KNOWN, "fn.arn": FN_ARN + "2"}
    assert diff(api, state, moved) == ["routes", "deployment"]
    assert fingerprint(api, moved) != fingerprint(api, KNOWN)
    assert diff(api, RestApiState(id="a1", root="r"), KNOWN) == ["routes", "deployment"]


# --- waits: botocore waiters, with the deployer's messages ---------------------------------


@pytest.fixture
def offline() -> Context:
    """A context whose clients are stubbed per test (nothing reaches AWS)."""
    return Context(Where(region="us-east-1"), "skybook", wait_timeout=0.4)


FUNCTION = Function("skybook-fn", role=Sub("arn:aws:iam::1:role/r"), code=Code(b"zip", "sha"))
STATE = FunctionState(FUNCTION.name, "old", FunctionConfig(None, None, None, None, None, {}))


def test_a_function_that_fails_to_update_says_why(offline: Context) -> None:
    with Stubber(offline.client("lambda")) as stub:
        stub.add_response("update_function_code", {})
        stub.add_response("get_function", {"Configuration": {"LastUpdateStatus": "InProgress"}})
        failed = {"LastUpdateStatus": "Failed", "LastUpdateStatusReason": "the zip is empty"}
        stub.add_response("get_function", {"Configuration": failed})
        with pytest.raises(
            DeployError, match=r"^function skybook-fn failed to deploy: the zip is empty$"
        ):
            kind_of("Function").update(offline, FUNCTION, STATE, ("code",))


def test_a_function_stuck_pending_times_out_naming_it(offline: Context) -> None:
    with Stubber(offline.client("lambda")) as stub:
        stub.add_response("create_function", {"FunctionArn": "arn:fn"})
        for _ in range(5):  # more than a wait of 0.4 s polls
            stub.add_response("get_function", {"Configuration": {"State": "Pending"}})
        with pytest.raises(TimeoutError, match=r"^timed out after 0s waiting for function "):
            kind_of("Function").create(offline, FUNCTION)


def test_an_error_while_waiting_is_the_calls_own(offline: Context) -> None:
    with Stubber(offline.client("dynamodb")) as stub:
        stub.add_client_error("describe_table", "AccessDeniedException", "not allowed")
        with pytest.raises(ClientError) as raised:
            offline.wait("dynamodb", "table_exists", "table t", TableName="t")
    assert raised.value.operation_name == "DescribeTable"
    assert "AccessDeniedException" in str(raised.value)


def test_a_table_waits_until_active(offline: Context) -> None:
    with Stubber(offline.client("dynamodb")) as stub:
        stub.add_client_error("describe_table", "ResourceNotFoundException")
        stub.add_response("describe_table", {"Table": {"TableStatus": "ACTIVE"}})
        offline.wait("dynamodb", "table_exists", "table t", TableName="t")
        stub.assert_no_pending_responses()
