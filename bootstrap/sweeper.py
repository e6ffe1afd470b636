"""Find the resources of a stack that should no longer exist, and delete them.

A resource is ours only when its name starts with ``<stack>-`` *and* it carries the tag
``skybook:stack=<stack>`` (where the service has tags): a colleague's ``skybook-foreign``
function, or the resources of a stack called ``skybook-dev``, match the prefix but not
the tag, and survive. ``destroy`` is a sweep with nothing desired.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from bootstrap import models as m
from bootstrap.aws import missing, paginate, tags_as_map
from bootstrap.models import TAG_KEY, Resource
from bootstrap.planner import find_rest_api, ses_identity_exists
from bootstrap.steps import Delete, Plan, Step
from bootstrap.target import Target

# Deletion order: dependents first (a bus cannot go while it has rules, a role is only
# unused once its function is gone).
ORDER = [
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


class Finder:
    """Lists the resources of one stack, kind by kind."""

    def __init__(self, target: Target, stack: str) -> None:
        self.target = target
        self.stack = stack
        self.prefix = f"{stack}-"

    def ours(self, tags: Any) -> bool:
        return tags_as_map(tags).get(TAG_KEY) == self.stack

    def find_all(self) -> list[Delete]:
        """Every resource of the stack that exists, as Delete steps in deletion order."""
        found: list[Delete] = []
        for kind in ORDER:
            finder = getattr(self, f"find_{kind.lower()}", None)
            if finder is not None:
                found.extend(finder())
        return found

    def find_eventbus(self) -> list[Delete]:
        events = self.target.client("events")
        buses = events.list_event_buses(NamePrefix=self.prefix).get("EventBuses", [])
        return [
            Delete("EventBus", bus["Name"], current={"arn": bus["Arn"]})
            for bus in buses
            if self.ours(events.list_tags_for_resource(ResourceARN=bus["Arn"])["Tags"])
        ]

    def find_rule(self) -> list[Delete]:
        events = self.target.client("events")
        buses = ["default"] + [d.name for d in self.find_eventbus()]
        found = []
        for bus in buses:
            for rule in paginate(
                events, "list_rules", "Rules", NamePrefix=self.prefix, EventBusName=bus
            ):
                tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
                if self.ours(tags):
                    found.append(Delete("Rule", rule["Name"], current={"bus": bus}))
        return found

    def find_table(self) -> list[Delete]:
        ddb = self.target.client("dynamodb")
        found = []
        for name in paginate(ddb, "list_tables", "TableNames"):
            if not name.startswith(self.prefix):
                continue
            arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
            if self.ours(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])):
                found.append(Delete("Table", name))
        return found

    def find_queue(self) -> list[Delete]:
        sqs = self.target.client("sqs")
        found = []
        for url in sqs.list_queues(QueueNamePrefix=self.prefix).get("QueueUrls", []):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith(self.prefix) and self.ours(
                sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
            ):
                found.append(Delete("Queue", name, current={"url": url}))
        return found

    def find_loggroup(self) -> list[Delete]:
        logs = self.target.client("logs")
        found = []
        for prefix in (f"/aws/lambda/{self.prefix}", f"/aws/events/{self.stack}"):
            for group in paginate(
                logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix
            ):
                name = group["logGroupName"]
                if prefix.startswith("/aws/events/") and name != prefix:
                    continue
                tags = logs.list_tags_log_group(logGroupName=name).get("tags", {})
                if self.ours(tags):
                    found.append(Delete("LogGroup", name))
        return found

    def find_logresourcepolicy(self) -> list[Delete]:
        # No tags on resource policies: only the exact name this stack gives it counts.
        name = f"{self.prefix}events-to-logs"
        policies = self.target.client("logs").describe_resource_policies()
        return [
            Delete("LogResourcePolicy", p["policyName"])
            for p in policies.get("resourcePolicies", [])
            if p["policyName"] == name
        ]

    def find_role(self) -> list[Delete]:
        iam = self.target.client("iam")
        found = []
        for role in paginate(iam, "list_roles", "Roles"):
            name = role["RoleName"]
            if name.startswith(self.prefix) and self.ours(
                iam.list_role_tags(RoleName=name).get("Tags", [])
            ):
                found.append(Delete("Role", name))
        return found

    def find_function(self) -> list[Delete]:
        client = self.target.client("lambda")
        found = []
        for function in paginate(client, "list_functions", "Functions"):
            name = function["FunctionName"]
            if name.startswith(self.prefix) and self.ours(
                client.list_tags(Resource=function["FunctionArn"]).get("Tags", {})
            ):
                found.append(Delete("Function", name))
        return found

    def find_lambdapermission(self) -> list[Delete]:
        """Statements we added to our functions' resource policies (Sid ``<stack>-...``)."""
        client = self.target.client("lambda")
        found = []
        for function in self.find_function():
            policy = missing(functools.partial(client.get_policy, FunctionName=function.name))
            if policy is None:
                continue
            for statement in json.loads(policy["Policy"]).get("Statement", []):
                sid = statement.get("Sid", "")
                if sid.startswith(self.prefix):
                    found.append(
                        Delete("LambdaPermission", sid, current={"function": function.name})
                    )
        return found

    def find_eventinvokeconfig(self) -> list[Delete]:
        """Our functions' event invoke configs (one per function, named after it)."""
        client = self.target.client("lambda")
        found = []
        for function in self.find_function():
            configs = missing(
                functools.partial(
                    client.list_function_event_invoke_configs, FunctionName=function.name
                )
            )
            if (configs or {}).get("FunctionEventInvokeConfigs"):
                found.append(
                    Delete("EventInvokeConfig", function.name, current={"function": function.name})
                )
        return found

    def find_restapi(self) -> list[Delete]:
        gateway = self.target.client("apigateway")
        return [
            Delete("RestApi", api["name"], current={"id": api["id"]})
            for api in paginate(gateway, "get_rest_apis", "items")
            if api.get("name", "").startswith(self.prefix) and self.ours(api.get("tags"))
        ]


def sweep_steps(target: Target, stack: str, desired: list[Resource]) -> list[Step]:
    """Delete steps for what exists of the stack but is not in ``desired``.

    SES identities and templates have no tags and fixed names, so no sweep can tell
    they are ours: only :func:`destroy_steps` removes them, by name.
    """
    wanted = {(r.kind, r.name) for r in desired}
    functions_kept = {r.name for r in desired if isinstance(r, m.Function)}
    steps: list[Step] = []
    for step in Finder(target, stack).find_all():
        if (step.kind, step.name) in wanted:
            continue
        if (
            step.kind in ("LambdaPermission", "EventInvokeConfig")
            and step.current["function"] not in functions_kept
        ):
            continue  # goes away with its function
        steps.append(step)
    return steps


def other_stacks(target: Target, stack: str) -> set[str]:
    """Other skybook stacks in this account and region, found by their tagged functions."""
    client = target.client("lambda")
    found = set()
    for function in paginate(client, "list_functions", "Functions"):
        if not function["FunctionName"].endswith("-sendBookingReceipt"):
            continue
        tags = tags_as_map(client.list_tags(Resource=function["FunctionArn"]).get("Tags", {}))
        if tags.get(TAG_KEY) not in (None, stack):
            found.add(tags[TAG_KEY])
    return found


def destroy_steps(
    target: Target, stack: str, ses_templates: list[str], ses_identity: str | None
) -> Plan:
    """Everything of the stack, plus the named SES templates and identity if they exist.

    The SES names are fixed, so another stack in the same account and region uses the very
    same templates (and usually the identity): while one exists, they stay.
    """
    steps = sweep_steps(target, stack, [])
    others = other_stacks(target, stack)
    if others:
        note = (
            f"kept the SES identity and templates: stack(s) {', '.join(sorted(others))} "
            "in this account and region use them too"
        )
        return Plan(steps=steps, known={}, notes=[note])
    ses = target.client("ses")
    extra: list[Step] = []
    for name in ses_templates:
        if missing(functools.partial(ses.get_template, TemplateName=name)) is not None:
            extra.append(Delete("SesTemplate", name))
    if ses_identity and ses_identity_exists(target, ses_identity):
        extra.append(Delete("SesIdentity", ses_identity))
    # Keep the documented order: SES goes before the queue, table and bus.
    return Plan(steps=sorted(steps + extra, key=lambda s: ORDER.index(s.kind)), known={})


def delete(target: Target, step: Delete) -> None:
    """Delete one resource; one that is already gone counts as deleted."""
    kind, name, current = step.kind, step.name, step.current or {}
    if kind == "Rule":
        events = target.client("events")
        bus = current.get("bus", "default")
        targets = missing(lambda: events.list_targets_by_rule(Rule=name, EventBusName=bus))
        ids = [t["Id"] for t in (targets or {}).get("Targets", [])]
        if ids:
            events.remove_targets(Rule=name, EventBusName=bus, Ids=ids)
        missing(lambda: events.delete_rule(Name=name, EventBusName=bus))
    elif kind == "LambdaPermission":
        client = target.client("lambda")
        missing(
            lambda: client.remove_permission(FunctionName=current["function"], StatementId=name)
        )
    elif kind == "EventInvokeConfig":
        client = target.client("lambda")
        function = current.get("function", name)
        missing(lambda: client.delete_function_event_invoke_config(FunctionName=function))
    elif kind == "RestApi":
        gateway = target.client("apigateway")
        api_id = current.get("id")
        if api_id is None:
            api = find_rest_api(target, name, current.get("stack", ""))
            api_id = api["id"] if api else None
        if api_id:
            missing(lambda: gateway.delete_rest_api(restApiId=api_id))
    elif kind == "Function":
        client = target.client("lambda")
        missing(lambda: client.delete_function(FunctionName=name))
    elif kind == "Role":
        iam = target.client("iam")
        for policy in paginate(iam, "list_role_policies", "PolicyNames", RoleName=name):
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for attached in paginate(
            iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name
        ):
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        missing(lambda: iam.delete_role(RoleName=name))
    elif kind == "LogResourcePolicy":
        logs = target.client("logs")
        missing(lambda: logs.delete_resource_policy(policyName=name))
    elif kind == "LogGroup":
        logs = target.client("logs")
        missing(lambda: logs.delete_log_group(logGroupName=name))
    elif kind == "SesTemplate":
        ses = target.client("ses")
        ses.delete_template(TemplateName=name)
    elif kind == "SesIdentity":
        ses = target.client("ses")
        ses.delete_identity(Identity=name)
    elif kind == "Queue":
        sqs = target.client("sqs")
        url = current.get("url") or (missing(lambda: sqs.get_queue_url(QueueName=name)) or {}).get(
            "QueueUrl"
        )
        if url:
            missing(lambda: sqs.delete_queue(QueueUrl=url))
    elif kind == "Table":
        ddb = target.client("dynamodb")
        missing(lambda: ddb.delete_table(TableName=name))
    elif kind == "EventBus":
        events = target.client("events")
        missing(lambda: events.delete_event_bus(Name=name))
    else:  # pragma: no cover - a new kind without a deleter is a programming error
        raise ValueError(f"no deleter for {kind}")
