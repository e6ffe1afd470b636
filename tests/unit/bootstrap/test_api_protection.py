"""The public API on AWS: stage throttling by default, an API key with a usage plan or IAM
auth on request; the sandbox keeps its frictionless default."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from bootstrap import DeployError, cli, deploy, destroy, plan
from bootstrap.models import Throttle
from bootstrap.resources.api_stage import ApiStage
from bootstrap.settings import DEFAULT_THROTTLE, Settings, SettingsError
from bootstrap.stack import desired_stack
from bootstrap.target import Target
from tests.unit.bootstrap.conftest import ParamRecorder

QUIET: dict[str, Any] = {"progress": lambda _text: None}
SANDBOX = Target(endpoint="http://127.0.0.1:9")


def gateway() -> Any:
    return boto3.client("apigateway", region_name="us-east-1")


def stage_of(outputs: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = gateway().get_stage(
        restApiId=outputs["apiId"], stageName=outputs["stage"]
    )
    return found


def method_of(outputs: dict[str, Any]) -> dict[str, Any]:
    api = outputs["apiId"]
    resource = next(
        r for r in gateway().get_resources(restApiId=api)["items"] if r["path"] == "/book-flight"
    )
    found: dict[str, Any] = gateway().get_method(
        restApiId=api, resourceId=resource["id"], httpMethod="POST"
    )
    return found


def test_the_stage_is_throttled_by_default(settings: Settings, target: Target) -> None:
    outputs = deploy(settings, target, **QUIET).outputs
    every_method = stage_of(outputs)["methodSettings"]["*/*"]
    assert (every_method["throttlingRateLimit"], every_method["throttlingBurstLimit"]) == (10, 20)
    assert method_of(outputs)["authorizationType"] == "NONE"
    assert outputs["apiAuth"] == "none" and outputs["apiKeyId"] is None
    assert not plan(settings, target).changes


def test_a_new_rate_updates_the_stage_and_no_throttle_removes_it(
    settings: Settings, target: Target
) -> None:
    params = ParamRecorder().attach(target)
    outputs = deploy(settings, target, **QUIET).outputs
    faster = settings.with_(throttle=Throttle(rate=50, burst=100))
    [step] = plan(faster, target).changes
    assert (step.kind, step.name, step.changes) == ("ApiStage", "skybook-api/prod", ("throttle",))  # type: ignore[attr-defined]
    deploy(faster, target, **QUIET)
    every_method = stage_of(outputs)["methodSettings"]["*/*"]
    assert (every_method["throttlingRateLimit"], every_method["throttlingBurstLimit"]) == (50, 100)
    assert not plan(faster, target).changes

    params.calls.clear()
    deploy(settings.with_(throttle=None), target, **QUIET)
    # (moto ignores removing method settings; LocalStack and AWS take this operation)
    assert params.of("UpdateStage") == [
        {
            "restApiId": outputs["apiId"],
            "stageName": "prod",
            "patchOperations": [{"op": "remove", "path": "/*/*"}],
        }
    ]


def test_a_redeployment_keeps_the_throttling(settings: Settings, target: Target) -> None:
    """Moving the stage to a new deployment (routes changed) must not reset its settings."""
    outputs = deploy(settings, target, **QUIET).outputs
    first = stage_of(outputs)["deploymentId"]
    deploy(settings.with_(api_auth="iam"), target, **QUIET)
    stage = stage_of(outputs)
    assert stage["deploymentId"] != first
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 10


def test_the_sandbox_default_is_unthrottled_and_aws_default_throttled() -> None:
    def settings_for(target: Target, *options: str) -> Settings:
        return cli.settings_from(cli.parser().parse_args(["plan", *options]), target)

    aws = Target(region="us-east-1")
    assert settings_for(SANDBOX).throttle is None
    assert settings_for(aws).throttle == DEFAULT_THROTTLE == Throttle(10, 20)
    assert settings_for(SANDBOX, "--throttle-rate", "5").throttle == Throttle(5, 20)
    assert settings_for(aws, "--throttle-burst", "3").throttle == Throttle(10, 3)
    assert settings_for(aws, "--no-throttle").throttle is None
    with pytest.raises(SettingsError, match="throttle 0 rps, burst 20 is invalid"):
        settings_for(aws, "--throttle-rate", "0")
    [stage] = [r for r in desired_stack(settings_for(SANDBOX)) if isinstance(r, ApiStage)]
    assert stage.throttle is None


def test_api_key_auth_makes_a_key_and_a_usage_plan(settings: Settings, target: Target) -> None:
    keyed = settings.with_(api_auth="api-key", api_quota_per_day=500)
    outputs = deploy(keyed, target, **QUIET).outputs
    assert method_of(outputs)["apiKeyRequired"] is True
    assert outputs["apiAuth"] == "api-key"
    [key] = gateway().get_api_keys()["items"]
    assert (key["id"], key["name"], key["enabled"]) == (
        outputs["apiKeyId"],
        "skybook-api-key",
        True,
    )
    [usage] = gateway().get_usage_plans()["items"]
    assert usage["name"] == "skybook-usage-plan"
    assert usage["apiStages"] == [{"apiId": outputs["apiId"], "stage": "prod"}]
    assert usage["throttle"] == {"rateLimit": 10.0, "burstLimit": 20}
    assert (usage["quota"]["limit"], usage["quota"]["period"]) == (500, "DAY")
    keys = gateway().get_usage_plan_keys(usagePlanId=usage["id"])["items"]
    assert [k["id"] for k in keys] == [key["id"]]
    assert not plan(keyed, target).changes

    # Back to an open API: the key and its plan go, the route no longer wants a key.
    steps = {(s.kind, s.verb) for s in plan(settings, target).changes}
    assert steps == {
        ("RestApi", "update"),
        ("ApiStage", "update"),
        ("UsagePlan", "delete"),
        ("ApiKey", "delete"),
    }
    deploy(settings, target, **QUIET)
    assert gateway().get_api_keys()["items"] == gateway().get_usage_plans()["items"] == []
    assert method_of(outputs)["apiKeyRequired"] is False
    assert not plan(settings, target).changes


def test_destroy_removes_the_key_and_plan(settings: Settings, target: Target) -> None:
    keyed = settings.with_(api_auth="api-key")
    deploy(keyed, target, **QUIET)
    destroy(keyed, target, **QUIET)
    assert gateway().get_api_keys()["items"] == []
    assert gateway().get_usage_plans()["items"] == []
    assert gateway().get_rest_apis()["items"] == []


def test_iam_auth_signs_the_route(settings: Settings, target: Target) -> None:
    deploy(settings, target, **QUIET)
    signed = settings.with_(api_auth="iam")
    changes = {(s.kind, s.changes) for s in plan(signed, target).changes}  # type: ignore[attr-defined]
    assert changes == {("RestApi", ("routes",)), ("ApiStage", ("deployment",))}
    outputs = deploy(signed, target, **QUIET).outputs
    method = method_of(outputs)
    assert (method["authorizationType"], method["apiKeyRequired"]) == ("AWS_IAM", False)
    assert outputs["apiAuth"] == "iam"
    assert not plan(signed, target).changes


def test_an_unknown_auth_is_refused() -> None:
    with pytest.raises(SettingsError, match="API auth 'open' is invalid"):
        Settings(api_auth="open")


def test_two_keys_of_ours_with_one_name_are_an_error_naming_the_fix(
    settings: Settings, target: Target
) -> None:
    """API Gateway names are not unique: the deployer never guesses which one is meant."""
    keyed = settings.with_(api_auth="api-key")
    deploy(keyed, target, **QUIET)
    tags = {"skybook:stack": "skybook", "skybook:stage": "prod"}
    extra = gateway().create_api_key(name="skybook-api-key", enabled=True, tags=tags)["id"]
    with pytest.raises(DeployError) as raised:
        plan(keyed, target)
    assert str(raised.value).startswith("several API keys named skybook-api-key belong to")
    assert extra in str(raised.value)
    assert str(raised.value).endswith("with 'aws apigateway delete-api-key'")
