"""The stack on a real sandbox: idempotent apply, the schedule, destroy, the Docker init hook."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bootstrap import Target, deploy, destroy, plan, stack_outputs
from bootstrap.models import Throttle
from skybook.app import sandbox_settings
from tests.conftest import SandboxUnderTest
from tests.e2e.conftest import App, wait_for

pytestmark = pytest.mark.sandbox
REPO = Path(__file__).resolve().parents[2]


def quiet(_line: str) -> None:
    return None


def test_second_apply_changes_nothing(app: App, tmp_path: Path) -> None:
    settings = sandbox_settings(outputs_file=tmp_path / "outputs.json")
    result = deploy(settings, Target.local(app.sandbox.endpoint), progress=quiet)
    assert result.applied == []
    assert result.summary() == "No changes: the stack is up to date."
    assert result.outputs["bookFlightUrl"] == app.outputs["bookFlightUrl"]


def test_the_sandbox_stack_is_unthrottled_and_open(app: App) -> None:
    """The sandbox keeps its frictionless default: no stage throttling, no auth."""
    gateway = app.sandbox.client("apigateway")
    stage = gateway.get_stage(restApiId=app.outputs["apiId"], stageName=app.outputs["stage"])
    assert "*/*" not in (stage.get("methodSettings") or {})
    assert app.outputs["apiAuth"] == "none"


def _post_with_key(url: str, key: str | None) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("x-api-key", key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_guarded_api_on_the_sandbox(sandbox: SandboxUnderTest, app: App) -> None:
    """--api-auth api-key, stage throttling and tags, on LocalStack: read back without drift,
    the key enforced (LocalStack 4.14 checks API keys, it does not enforce throttling), tags
    changed in place, and destroy leaves nothing."""
    settings = sandbox_settings(
        stack_name="guarded",
        api_auth="api-key",
        throttle=Throttle(5, 10),
        tags={"team": "web"},
        outputs_file=None,
    )
    target = Target.local(sandbox.endpoint)
    outputs = deploy(settings, target, progress=quiet).outputs
    gateway = sandbox.client("apigateway")
    try:
        assert not plan(settings, target).changes
        stage = gateway.get_stage(restApiId=outputs["apiId"], stageName="prod")
        every_method = stage["methodSettings"]["*/*"]
        assert (every_method["throttlingRateLimit"], every_method["throttlingBurstLimit"]) == (
            5,
            10,
        )
        key = gateway.get_api_key(apiKey=outputs["apiKeyId"], includeValue=True)["value"]
        assert _post_with_key(outputs["bookFlightUrl"], None) == 403
        assert _post_with_key(outputs["bookFlightUrl"], "not-the-key") == 403
        assert _post_with_key(outputs["bookFlightUrl"], key) == 400  # in: bookFlight says why

        retagged = settings.with_(tags={"team": "ops"})
        changes = plan(retagged, target).changes
        assert changes and all(getattr(s, "changes", ()) == ("tags",) for s in changes)
        deploy(retagged, target, progress=quiet)
        # LocalStack 4.14 keeps TagResource's tags apart from API Gateway's resources: GetTags
        # has them, GetRestApis/GetStage/GetApiKeys/GetUsagePlans still show the tags they
        # were created with (AWS shows the same in both). So on the sandbox, and only there,
        # the API Gateway resources' tags stay "changed"; everything else converges.
        left = {(s.kind, getattr(s, "changes", ())) for s in plan(retagged, target).changes}
        apigateway_kinds = {"RestApi", "ApiStage", "ApiKey", "UsagePlan"}
        assert left == {(kind, ("tags",)) for kind in apigateway_kinds}
        arn = f"arn:aws:apigateway:us-east-1::/restapis/{outputs['apiId']}"
        assert gateway.get_tags(resourceArn=arn)["tags"]["team"] == "ops"
        assert stack_outputs(target, "guarded") == outputs
    finally:
        destroy(settings, target, progress=quiet)
    assert stack_leftovers(sandbox, "guarded") == {}
    assert [k for k in gateway.get_api_keys()["items"] if k["name"].startswith("guarded-")] == []
    assert [p for p in gateway.get_usage_plans()["items"] if p["name"].startswith("guarded-")] == []


def test_outputs_read_from_the_stack_are_those_apply_gave(app: App) -> None:
    """No outputs file, no settings: the deployed stack alone gives the same outputs."""
    assert stack_outputs(Target.local(app.sandbox.endpoint), app.outputs["stack"]) == app.outputs


def test_schedule_rule_targets_sync_flights(app: App) -> None:
    events = app.sandbox.client("events")
    rules = events.list_rules(NamePrefix="skybook-syncFlights")["Rules"]
    assert [r["ScheduleExpression"] for r in rules] == ["rate(1 day)"]
    targets = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"]
    assert [t["Arn"].rsplit(":", 1)[-1] for t in targets] == [
        app.outputs["functions"]["syncFlights"]
    ]


def stack_leftovers(sandbox: SandboxUnderTest, stack: str) -> dict[str, list[str]]:
    """Every resource whose name says it belongs to ``stack``."""
    prefix = f"{stack}-"
    c = sandbox.client
    found: dict[str, Any] = {
        "functions": [
            f["FunctionName"]
            for f in c("lambda").list_functions()["Functions"]
            if f["FunctionName"].startswith(prefix)
        ],
        "tables": [t for t in c("dynamodb").list_tables()["TableNames"] if t.startswith(prefix)],
        "buses": [
            b["Name"]
            for b in c("events").list_event_buses()["EventBuses"]
            if b["Name"].startswith(prefix)
        ],
        "rules": [r["Name"] for r in c("events").list_rules(NamePrefix=prefix)["Rules"]],
        "roles": [
            r["RoleName"]
            for r in c("iam").list_roles()["Roles"]
            if r["RoleName"].startswith(prefix)
        ],
        "apis": [
            a["name"]
            for a in c("apigateway").get_rest_apis()["items"]
            if a["name"].startswith(prefix)
        ],
        "queues": c("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", []),
    }
    return {kind: names for kind, names in found.items() if names}


@pytest.mark.slow
def test_minute_schedule_fires_then_destroy_leaves_nothing(
    sandbox: SandboxUnderTest, app: App, tmp_path: Path
) -> None:
    settings = sandbox_settings(
        stack_name="minutely", schedule="rate(1 minute)", outputs_file=tmp_path / "o.json"
    )
    target = Target.local(sandbox.endpoint)
    outputs = deploy(settings, target, progress=quiet).outputs
    try:
        ddb = sandbox.client("dynamodb")
        # Nobody invokes syncFlights here: flights appear only when the schedule fires it.
        assert ddb.scan(TableName=outputs["tableName"])["Count"] == 0
        wait_for(
            lambda: ddb.scan(TableName=outputs["tableName"])["Count"] >= 7,
            timeout=150,
            interval=2,
            what="the rate(1 minute) schedule to run syncFlights",
        )
    finally:
        result = destroy(settings, target, progress=quiet)
    assert result.applied
    assert stack_leftovers(sandbox, "minutely") == {}
    # ... and the other stack on the same sandbox is untouched.
    assert app.post({}).status == 400
    assert "functions" in stack_leftovers(sandbox, "skybook")
