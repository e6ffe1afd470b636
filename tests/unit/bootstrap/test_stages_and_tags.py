"""Stages and tags: two stages share an account and region without touching each other, and
every taggable resource carries the user's tags next to ours."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from bootstrap import DeployError, cli, deploy, destroy, plan
from bootstrap.aws import tags_as_map
from bootstrap.resources import kind_of
from bootstrap.settings import Settings, SettingsError
from bootstrap.stack import desired_stack
from bootstrap.steps import Update
from bootstrap.target import Target

QUIET: dict[str, Any] = {"progress": lambda _text: None}
REGION = "us-east-1"


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def account_state() -> dict[str, Any]:
    """Everything the services hold, by name (and the settings that matter), in the region."""
    lam, iam, ddb, events = client("lambda"), client("iam"), client("dynamodb"), client("events")
    gateway, sqs, logs, ses = client("apigateway"), client("sqs"), client("logs"), client("ses")
    buses = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    apis = gateway.get_rest_apis()["items"]
    return {
        "functions": {
            f["FunctionName"]: (f["CodeSha256"], f.get("Environment"))
            for f in lam.list_functions()["Functions"]
        },
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
        "tables": sorted(ddb.list_tables()["TableNames"]),
        "buses": sorted(bus for bus in buses if bus != "default"),
        "rules": sorted(
            (bus, r["Name"]) for bus in buses for r in events.list_rules(EventBusName=bus)["Rules"]
        ),
        "apis": sorted(
            (a["name"], a["id"], s["stageName"], s.get("deploymentId"))
            for a in apis
            for s in gateway.get_stages(restApiId=a["id"])["item"]
        ),
        "keys": sorted(k["name"] for k in gateway.get_api_keys()["items"]),
        "plans": sorted(p["name"] for p in gateway.get_usage_plans()["items"]),
        "queues": sorted(sqs.list_queues().get("QueueUrls", [])),
        "log groups": sorted(g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]),
        "templates": sorted(t["Name"] for t in ses.list_templates()["TemplatesMetadata"]),
        "identities": sorted(ses.list_identities()["Identities"]),
    }


def test_two_stages_share_an_account_and_destroying_one_leaves_the_other_whole(
    settings: Settings, target: Target
) -> None:
    prod = settings.with_(event_log=True, api_auth="api-key")
    deploy(prod, target, **QUIET)
    alone = account_state()

    dev = prod.with_(stage="dev")
    dev_outputs = deploy(dev, target, **QUIET).outputs
    both = account_state()
    assert not plan(prod, target).changes and not plan(dev, target).changes
    # Nothing of dev's has a name of prod's (the SES identity is the one thing they share).
    for what, names in alone.items():
        if what != "identities":
            assert len(both[what]) == 2 * len(names), what
    assert both["templates"] == [
        "bookingReceiptTemplate",
        "bookingRejectedTemplate",
        "skybook-dev-bookingReceiptTemplate",
        "skybook-dev-bookingRejectedTemplate",
    ]
    assert dev_outputs["bookFlightUrl"].endswith("/dev/book-flight")

    result = destroy(dev, target, **QUIET)
    assert result.notes == [
        "kept the SES identity bookings@skybook-demo.com: stack(s) skybook in this account "
        "and region may send from it"
    ]
    assert account_state() == alone  # prod whole: same code, deployment, templates...
    assert not plan(prod, target).changes

    destroy(prod, target, **QUIET)
    assert account_state() == {what: {} if what == "functions" else [] for what in alone}


def test_a_stage_name_too_long_for_iam_is_refused() -> None:
    with pytest.raises(SettingsError, match="at most 31 characters fit"):
        Settings(stack_name="a" * 20, stage="b" * 12)
    with pytest.raises(SettingsError, match="stage 'no/slash' is invalid"):
        Settings(stage="no/slash")


# --- tags ---------------------------------------------------------------------------------


def tags_by_resource(stack: str) -> dict[tuple[str, str], dict[str, str]]:
    """The tags of every taggable resource whose name says it is the stack's, as (kind, name)."""
    lam, iam, ddb, events = client("lambda"), client("iam"), client("dynamodb"), client("events")
    gateway, sqs, logs = client("apigateway"), client("sqs"), client("logs")
    found: dict[tuple[str, str], dict[str, str]] = {}
    mine = f"{stack}-"
    for f in lam.list_functions()["Functions"]:
        found[("Function", f["FunctionName"])] = lam.list_tags(Resource=f["FunctionArn"])["Tags"]
    for r in iam.list_roles()["Roles"]:
        tags = iam.list_role_tags(RoleName=r["RoleName"])["Tags"]
        found[("Role", r["RoleName"])] = tags_as_map(tags)
    for name in ddb.list_tables()["TableNames"]:
        arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
        found[("Table", name)] = tags_as_map(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"])
    for bus in events.list_event_buses()["EventBuses"]:
        tags = events.list_tags_for_resource(ResourceARN=bus["Arn"])["Tags"]
        if bus["Name"] != "default":
            found[("EventBus", bus["Name"])] = tags_as_map(tags)
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
            tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
            found[("Rule", rule["Name"])] = tags_as_map(tags)
    for url in sqs.list_queues().get("QueueUrls", []):
        found[("Queue", url.rsplit("/", 1)[-1])] = sqs.list_queue_tags(QueueUrl=url)["Tags"]
    for group in logs.describe_log_groups()["logGroups"]:
        name = group["logGroupName"]
        found[("LogGroup", name)] = logs.list_tags_log_group(logGroupName=name)["tags"]
    for api in gateway.get_rest_apis()["items"]:
        found[("RestApi", api["name"])] = api.get("tags", {})
        for stage in gateway.get_stages(restApiId=api["id"])["item"]:
            found[("ApiStage", f"{api['name']}/{stage['stageName']}")] = stage.get("tags", {})
    for key in gateway.get_api_keys()["items"]:
        found[("ApiKey", key["name"])] = key.get("tags", {})
    for usage in gateway.get_usage_plans()["items"]:
        found[("UsagePlan", usage["name"])] = usage.get("tags", {})
    return {
        (kind, name): tags
        for (kind, name), tags in found.items()
        if name.removeprefix("/aws/lambda/").removeprefix("/aws/events/").startswith(mine)
        or name == f"/aws/events/{stack}"
    }


def test_tags_reach_every_taggable_resource(settings: Settings, target: Target) -> None:
    tagged = settings.with_(
        event_log=True, api_auth="api-key", tags={"team": "web", "cost-center": "42"}
    )
    deploy(tagged, target, **QUIET)
    found = tags_by_resource("skybook")
    taggable = {(r.kind, r.name) for r in desired_stack(tagged) if kind_of(r.kind).taggable}
    assert set(found) == taggable
    assert {r[0] for r in taggable} == {
        "ApiKey", "ApiStage", "EventBus", "Function", "LogGroup", "Queue", "RestApi", "Role",
        "Rule", "Table", "UsagePlan",
    }  # fmt: skip
    for resource, tags in found.items():
        assert tags == {
            "team": "web",
            "cost-center": "42",
            "skybook:stack": "skybook",
            "skybook:stage": "prod",
        }, resource
    assert not plan(tagged, target).changes


def test_changed_tags_are_drift_that_apply_puts_right(
    settings: Settings, target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = settings.with_(event_log=True, api_auth="api-key", tags={"team": "web", "x": "1"})
    deploy(before, target, **QUIET)
    after = before.with_(tags={"team": "ops"})
    planned = plan(after, target).changes
    taggable = {(r.kind, r.name) for r in desired_stack(after) if kind_of(r.kind).taggable}
    assert {(s.kind, s.name) for s in planned} == taggable
    assert all(isinstance(s, Update) and s.changes == ("tags",) for s in planned)

    # moto tags API Gateway stages only: record what is asked of APIs, keys and plans.
    gateway = target.client("apigateway")
    asked: list[tuple[str, str, Any]] = []
    real_tag, real_untag = gateway.tag_resource, gateway.untag_resource

    def tag(resourceArn: str, tags: dict[str, str]) -> Any:
        asked.append(("tag", resourceArn, tags))
        return real_tag(resourceArn=resourceArn, tags=tags) if "/stages/" in resourceArn else {}

    def untag(resourceArn: str, tagKeys: list[str]) -> Any:
        asked.append(("untag", resourceArn, tagKeys))
        if "/stages/" in resourceArn:
            return real_untag(resourceArn=resourceArn, tagKeys=tagKeys)
        return {}

    monkeypatch.setattr(gateway, "tag_resource", tag)
    monkeypatch.setattr(gateway, "untag_resource", untag)
    deploy(after, target, **QUIET)

    expected = {"team": "ops", "skybook:stack": "skybook", "skybook:stage": "prod"}
    for (kind, name), tags in tags_by_resource("skybook").items():
        if kind not in ("RestApi", "ApiKey", "UsagePlan"):
            assert tags == expected, (kind, name)
    paths = sorted({arn.split("::", 1)[1].split("/")[1] for _, arn, _ in asked})
    assert paths == ["apikeys", "restapis", "usageplans"]
    assert all(v == {"team": "ops"} for verb, _, v in asked if verb == "tag")
    assert all(v == ["x"] for verb, _, v in asked if verb == "untag")
    assert len(asked) == 8  # tag and untag: API, stage, key, plan


def test_aws_tags_are_left_alone(settings: Settings, target: Target) -> None:
    """aws:* tags are AWS's to manage: they are no drift."""
    deploy(settings, target, **QUIET)
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName="skybook-events-dlq")["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"aws:cloudformation:stack-name": "x", "extra": "1"})
    [step] = plan(settings, target).changes
    assert (step.kind, step.name) == ("Queue", "skybook-events-dlq")
    deploy(settings, target, **QUIET)
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
        "aws:cloudformation:stack-name": "x",
        "skybook:stack": "skybook",
        "skybook:stage": "prod",
    }


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"aws:owner": "x"}, "reserved"),
        ({"skybook:stack": "x"}, "reserved"),
        ({"k": "a,b"}, "use letters, digits"),
        ({"": "x"}, "keys have 1 to 128"),
    ],
)
def test_bad_tags_are_refused(tags: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings(tags=tags)


def test_tag_options_parse_and_refuse_what_is_not_key_value() -> None:
    args = cli.parser().parse_args(["plan", "--tag", "team=web", "--tag", "note=a=b"])
    settings = cli.settings_from(args, Target(endpoint="http://127.0.0.1:9"))
    assert dict(settings.tags) == {"team": "web", "note": "a=b"}
    with pytest.raises(DeployError, match="--tag 'team' is not KEY=VALUE"):
        cli.settings_from(
            cli.parser().parse_args(["plan", "--tag", "team"]), Target(endpoint="http://x")
        )
