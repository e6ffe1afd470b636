"""IAM you can hand to a security reviewer: parliament finds nothing in the stack's role
policies nor in the deploy role's, and the deploy role's policy allows every call the
deployer makes (and nothing on another stack's resources).

The coverage check records every call of a plan, an apply, a no-op apply, two applies that
change everything that can change, ``outputs`` and a destroy on moto, with its parameters,
turns each into the IAM action it needs and the resource it acts on, and evaluates the
policy for it (a small evaluator: Allow statements, ``*``/``?`` wildcards, StringEquals
conditions). API names that are not the action's: API Gateway's actions are its HTTP verbs
on the request's path, ``sts:GetCallerIdentity`` needs no permission, and some calls need a
second action (tagging on create, handing a role to Lambda).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from bootstrap import deploy, destroy, outputs, plan
from bootstrap.deployer import destroy_plan
from bootstrap.models import Throttle
from bootstrap.policy import document
from bootstrap.resources.base import Scope
from bootstrap.settings import Settings
from bootstrap.target import Target

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # parliament imports pkg_resources
    from parliament import analyze_policy_string

QUIET: dict[str, Any] = {"progress": lambda _text: None}
ACCOUNT, REGION = "123456789012", "us-east-1"
SCOPE = Scope(ACCOUNT, REGION, "skybook")
FUNCTIONS = ["bookFlight", "registerBooking", "sendBookingReceipt", "syncFlights"]
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace not counted


def findings(policy: Any) -> list[str]:
    linted = analyze_policy_string(json.dumps(policy))
    return [f"{f.issue}: {f.detail}" for f in linted.findings]


def test_every_role_policy_of_the_stack_passes_parliament(
    settings: Settings, target: Target
) -> None:
    deploy(settings.with_(event_log=True, api_auth="api-key"), target, **QUIET)
    iam = boto3.client("iam", region_name=REGION)
    for name in FUNCTIONS:
        role = f"skybook-{name}-role"
        policy = iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
        assert findings(policy) == [], role


@pytest.mark.parametrize("plan_only", [False, True], ids=["deploy", "plan-only"])
def test_the_deploy_role_policy_passes_parliament_and_fits(plan_only: bool) -> None:
    policy = document(SCOPE, plan_only=plan_only)
    assert findings(policy) == []
    compact = re.sub(r"\s", "", json.dumps(policy))
    assert len(compact) < MANAGED_POLICY_LIMIT


# --- what each call needs ------------------------------------------------------------------

TAGGED_ON_CREATE = {
    ("lambda", "CreateFunction"): ("Tags", "lambda:TagResource"),
    ("sqs", "CreateQueue"): ("tags", "sqs:TagQueue"),
    ("dynamodb", "CreateTable"): ("Tags", "dynamodb:TagResource"),
    ("events", "CreateEventBus"): ("Tags", "events:TagResource"),
    ("events", "PutRule"): ("Tags", "events:TagResource"),
    ("logs", "CreateLogGroup"): ("tags", "logs:TagResource"),
    ("iam", "CreateRole"): ("Tags", "iam:TagRole"),
}
LISTS = {
    "ListFunctions",
    "ListRoles",
    "ListTables",
    "ListQueues",
    "ListEventBuses",
    "ListRules",
    "DescribeLogGroups",
    "DescribeResourcePolicies",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
}


def _apigateway_path(model: Any, params: dict[str, Any]) -> str:
    path = model.http["requestUri"].split("?")[0]
    for name, shape in model.input_shape.members.items():
        if shape.serialization.get("location") == "uri":
            where = shape.serialization["name"]
            path = path.replace("{" + where + "}", str(params[name]))
            path = path.replace("{" + where + "+}", str(params[name]))
    return path


def resource_of(service: str, operation: str, params: dict[str, Any]) -> str:
    """The ARN IAM authorizes the call against ('*' for calls it cannot scope)."""
    arn = f"arn:aws:{service}:{REGION}:{ACCOUNT}"
    if operation in LISTS or service == "ses":
        return "*"
    if service == "lambda":
        name = params.get("FunctionName") or params["Resource"]
        return name if name.startswith("arn:") else f"{arn}:function:{name}"
    if service == "iam":
        return f"arn:aws:iam::{ACCOUNT}:role/{params['RoleName']}"
    if service == "dynamodb":
        return params.get("ResourceArn") or f"{arn}:table/{params['TableName']}"
    if service == "sqs":
        name = params.get("QueueName") or params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        return f"{arn}:{name}"
    if service == "events":
        if "ResourceARN" in params:
            return str(params["ResourceARN"])
        if operation.endswith("EventBus"):
            return f"{arn}:event-bus/{params['Name']}"
        rule, bus = params.get("Name") or params["Rule"], params.get("EventBusName", "default")
        return f"{arn}:rule/{rule}" if bus == "default" else f"{arn}:rule/{bus}/{rule}"
    if service == "logs":
        return params.get("resourceArn") or f"{arn}:log-group:{params['logGroupName']}"
    raise AssertionError(f"no resource mapping for {service}.{operation}")


def needs(model: Any, params: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(action, resource, condition context) for one call."""
    service, operation = model.service_model.service_name, model.name
    context = {"aws:RequestedRegion": REGION}
    if service == "sts":
        return []  # GetCallerIdentity: allowed to everyone, no policy needed
    if service == "apigateway":
        path = _apigateway_path(model, params)
        gateway = f"arn:aws:apigateway:{REGION}::"
        found = [(f"apigateway:{model.http['method']}", gateway + path, context)]
        if params.get("tags"):  # tag on create
            found.append(("apigateway:PUT", f"{gateway}/tags/{path}", context))
        return found
    resource = resource_of(service, operation, params)
    found = [(f"{service}:{operation}", resource, context)]
    tagged = TAGGED_ON_CREATE.get((service, operation))
    if tagged and params.get(tagged[0]):
        found.append((tagged[1], resource, context))
    if operation in ("CreateFunction", "UpdateFunctionConfiguration") and params.get("Role"):
        passed = {**context, "iam:PassedToService": "lambda.amazonaws.com"}
        found.append(("iam:PassRole", str(params["Role"]), passed))
    return found


def allows(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    def listed(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else list(value)

    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatchcase(action.lower(), a.lower()) for a in listed(statement["Action"])):
            continue
        if not any(fnmatchcase(resource, r) for r in listed(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"StringEquals"}, "the evaluator knows StringEquals only"
        if all(context.get(k) == v for k, v in conditions.get("StringEquals", {}).items()):
            return True
    return False


class Needs:
    """Every call made through the target's clients, as what it needs of IAM."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str, dict[str, str]]]]] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: object) -> None:
        call = f"{model.service_model.service_name}.{model.name}"
        self.calls.append((call, needs(model, params)))

    def uncovered(self, policy: dict[str, Any]) -> list[str]:
        return sorted(
            {
                f"{call} needs {action} on {resource}"
                for call, needed in self.calls
                for action, resource, context in needed
                if not allows(policy, action, resource, context)
            }
        )


def _untaggable_on_moto(params: dict[str, Any], model: Any, **_: object) -> Any:
    """moto tags API Gateway stages only: answer the other tag calls here (the request was
    already recorded)."""
    if model.name in ("TagResource", "UntagResource") and "/stages/" not in params["url_path"]:
        return AWSResponse("https://apigateway", 204, HTTPHeaders(), None), {}
    return None


@pytest.fixture
def needed(target: Target) -> Needs:
    recorder = Needs()
    target.session.events.register("provide-client-params.*.*", recorder)
    target.session.events.register("before-call.apigateway.*", _untaggable_on_moto)
    return recorder


def _phases(settings: Settings, target: Target, functions_dir: Path) -> Iterator[str]:
    """Plan, apply, apply again, two applies that change what can change, outputs, destroy;
    yields each phase's name once its calls are made."""
    full = settings.with_(event_log=True, api_auth="api-key", tags={"team": "web", "x": "1"})
    plan(full, target)
    yield "plan"
    deploy(full, target, **QUIET)
    yield "apply"
    deploy(full, target, **QUIET)
    plan(full, target)
    yield "no-op apply"
    (functions_dir / "sync_flights" / "app.py").write_text("def handler(e, c):\n    return 2\n")
    (functions_dir / "send_booking_receipt" / "templates" / "receipt.txt").write_text("new")
    logs = boto3.client("logs", region_name=REGION)
    logs.put_retention_policy(logGroupName="/aws/lambda/skybook-bookFlight", retentionInDays=1)
    changed = full.with_(
        seats_per_flight=5,
        schedule="rate(2 days)",
        tags={"team": "ops"},
        throttle=Throttle(5, 5),
        api_auth="iam",
        event_log=False,
    )
    deploy(changed, target, **QUIET)
    deploy(full, target, **QUIET)
    yield "updates"
    outputs(full, target)
    yield "outputs"
    destroy_plan(full, target)
    destroy(full, target, **QUIET)
    yield "destroy"


def test_the_deploy_policy_allows_every_call_of_the_deployer(
    settings: Settings, target: Target, needed: Needs, functions_dir: Path
) -> None:
    policy = document(SCOPE)
    seen: set[str] = set()
    for phase in _phases(settings, target, functions_dir):
        assert needed.uncovered(policy) == [], phase
        seen.update(call for call, _ in needed.calls)
    # The phases did exercise updates, deletes and tags (else the check proves little).
    for call in (
        "lambda.UpdateFunctionCode",
        "lambda.UpdateFunctionConfiguration",
        "ses.UpdateTemplate",
        "logs.PutRetentionPolicy",
        "events.UntagResource",
        "apigateway.UpdateStage",
        "apigateway.DeleteMethod",
        "apigateway.DeleteUsagePlan",
        "apigateway.TagResource",
        "logs.DeleteResourcePolicy",
        "iam.DeleteRole",
        "sts.GetCallerIdentity",
    ):
        assert call in seen, call


def test_the_plan_only_policy_allows_plan_and_outputs_but_no_change(
    settings: Settings, target: Target, needed: Needs, functions_dir: Path
) -> None:
    reads = document(SCOPE, plan_only=True)
    full = settings.with_(event_log=True, api_auth="api-key")
    plan(full, target)
    assert needed.uncovered(reads) == []
    deploy(full, target, **QUIET)
    needed.calls.clear()
    plan(full, target)
    outputs(full, target)
    destroy_plan(full, target)
    assert needed.uncovered(reads) == []
    changes = {call for call, _ in needed.calls} - {
        call for call, need in needed.calls if all(allows(reads, *n) for n in need)
    }
    assert changes == set()
    context = {"aws:RequestedRegion": REGION}
    assert not allows(reads, "lambda:UpdateFunctionCode", f"{_fn('skybook-bookFlight')}", context)
    assert not allows(reads, "apigateway:POST", f"arn:aws:apigateway:{REGION}::/restapis", context)


def _fn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("lambda:UpdateFunctionCode", _fn("other-bookFlight")),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/admin"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin"),
        ("dynamodb:DeleteTable", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"),
        ("sqs:DeleteQueue", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"),
        ("logs:DeleteLogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/x"),
        ("lambda:DeleteFunction", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:skybook-x"),
        ("ses:SendEmail", "*"),
        ("lambda:InvokeFunction", _fn("skybook-bookFlight")),
    ],
)
def test_nothing_outside_the_stack_is_allowed(action: str, resource: str) -> None:
    context = {"aws:RequestedRegion": REGION, "iam:PassedToService": "lambda.amazonaws.com"}
    assert not allows(document(SCOPE), action, resource, context)


def test_pass_role_goes_to_lambda_only() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/skybook-bookFlight-role"
    policy = document(SCOPE)
    assert allows(policy, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allows(policy, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})


def test_list_calls_are_held_to_the_region() -> None:
    policy = document(SCOPE)
    assert allows(policy, "lambda:ListFunctions", "*", {"aws:RequestedRegion": REGION})
    assert not allows(policy, "lambda:ListFunctions", "*", {"aws:RequestedRegion": "eu-west-1"})


def test_the_policy_command_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    from bootstrap import cli

    argv = ["policy", "--endpoint", "http://127.0.0.1:9", "--account", ACCOUNT, "--json"]
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out) == document(SCOPE)
    assert cli.main([*argv[:-1], "--plan-only", "--stack-name", "shop"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(
        "# IAM policy to plan stack shop (every stage: names shop-*) in account "
        f"{ACCOUNT}, region {REGION}."
    )
    assert "# *: a list call: IAM has no resource to scope it to" in text
