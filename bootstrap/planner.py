"""Compare the desired stack with what the account holds, and say what has to change.

Reading is done with describe/get/list calls only, so ``plan`` is always safe to run.
The planner keeps no local state: everything it needs (code hashes, a fingerprint of the
deployed API) is read back from the resources themselves.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from bootstrap import models as m
from bootstrap.aws import missing, normalize_policy, paginate, tags_as_map
from bootstrap.errors import DeployError
from bootstrap.models import TAG_KEY, Resource, resolve
from bootstrap.steps import Create, NoChange, Plan, Step, Update
from bootstrap.target import Target

Observed = dict[str, Any]
"""What exists for one resource: ``attrs`` (ARN, id, ... for references) and raw state."""


class Reader:
    """Reads the current state of each kind of resource (None when it does not exist)."""

    def __init__(self, target: Target, stack: str) -> None:
        self.target = target
        self.stack = stack
        self._lambda_policies: dict[str, dict[str, Any] | None] = {}

    def read(self, resource: Resource) -> Observed | None:
        reader = getattr(self, f"read_{resource.kind.lower()}")
        result: Observed | None = reader(resource)
        return result

    def read_eventbus(self, r: m.EventBus) -> Observed | None:
        found = missing(lambda: self.target.client("events").describe_event_bus(Name=r.name))
        return None if found is None else {"attrs": {"arn": found["Arn"]}}

    def read_table(self, r: m.Table) -> Observed | None:
        found = missing(lambda: self.target.client("dynamodb").describe_table(TableName=r.name))
        if found is None:
            return None
        table = found["Table"]
        mode = table.get("BillingModeSummary", {}).get("BillingMode")
        if mode is None:
            units = table.get("ProvisionedThroughput", {}).get("ReadCapacityUnits", 0)
            mode = "PROVISIONED" if units else "PAY_PER_REQUEST"
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        return {"attrs": {"arn": table["TableArn"]}, "keys": keys, "billing_mode": mode}

    def read_queue(self, r: m.Queue) -> Observed | None:
        sqs = self.target.client("sqs")
        found = missing(lambda: sqs.get_queue_url(QueueName=r.name))
        if found is None:
            return None
        url = found["QueueUrl"]
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", "Policy", "MessageRetentionPeriod"]
        )["Attributes"]
        return {
            "attrs": {"arn": attrs["QueueArn"], "url": url},
            "policy": attrs.get("Policy"),
            "retention": int(attrs.get("MessageRetentionPeriod", 0)),
        }

    def read_loggroup(self, r: m.LogGroup) -> Observed | None:
        logs = self.target.client("logs")
        for group in paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=r.name):
            if group["logGroupName"] == r.name:
                arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
                tags = logs.list_tags_log_group(logGroupName=r.name).get("tags", {})
                return {
                    "attrs": {"arn": arn},
                    "retention": group.get("retentionInDays"),
                    # Lambda creates its group on first use if it does not exist: such a
                    # group lacks our tag until we adopt it, and destroy would miss it.
                    "tagged": tags.get(TAG_KEY) == self.stack,
                }
        return None

    def read_logresourcepolicy(self, r: m.LogResourcePolicy) -> Observed | None:
        logs = self.target.client("logs")
        for policy in logs.describe_resource_policies().get("resourcePolicies", []):
            if policy["policyName"] == r.name:
                return {"attrs": {}, "policy": policy["policyDocument"]}
        return None

    def read_role(self, r: m.Role) -> Observed | None:
        iam = self.target.client("iam")
        found = missing(lambda: iam.get_role(RoleName=r.name))
        if found is None:
            return None
        inline = missing(lambda: iam.get_role_policy(RoleName=r.name, PolicyName=r.name))
        return {
            "attrs": {"arn": found["Role"]["Arn"]},
            "trust": found["Role"].get("AssumeRolePolicyDocument"),
            "policy": None if inline is None else inline["PolicyDocument"],
        }

    def read_function(self, r: m.Function) -> Observed | None:
        found = missing(lambda: self.target.client("lambda").get_function(FunctionName=r.name))
        if found is None:
            return None
        config = found["Configuration"]
        return {
            "attrs": {"arn": config["FunctionArn"]},
            "sha256": config.get("CodeSha256"),
            "config": _function_config(
                role=config.get("Role"),
                handler=config.get("Handler"),
                runtime=config.get("Runtime"),
                timeout=config.get("Timeout"),
                memory=config.get("MemorySize"),
                environment=config.get("Environment", {}).get("Variables", {}),
            ),
        }

    def read_eventinvokeconfig(self, r: m.EventInvokeConfig) -> Observed | None:
        client = self.target.client("lambda")
        found = missing(lambda: client.get_function_event_invoke_config(FunctionName=r.name))
        return None if found is None else {"attrs": {}, "config": invoke_config_shape(found)}

    def lambda_policy(self, function: str) -> dict[str, Any] | None:
        """A function's resource policy (cached: several permissions share it)."""
        if function not in self._lambda_policies:
            found = missing(lambda: self.target.client("lambda").get_policy(FunctionName=function))
            self._lambda_policies[function] = None if found is None else json.loads(found["Policy"])
        return self._lambda_policies[function]

    def read_lambdapermission(self, r: m.LambdaPermission) -> Observed | None:
        policy = self.lambda_policy(r.function)
        for statement in (policy or {}).get("Statement", []):
            if statement.get("Sid") == r.name:
                principal = statement.get("Principal", {})
                service = principal.get("Service") if isinstance(principal, dict) else principal
                condition = statement.get("Condition", {}).get("ArnLike", {})
                return {
                    "attrs": {},
                    "principal": service,
                    "source_arn": condition.get("AWS:SourceArn"),
                    "action": statement.get("Action"),
                }
        return None

    def read_rule(self, r: m.Rule) -> Observed | None:
        events = self.target.client("events")
        found = missing(lambda: events.describe_rule(Name=r.name, EventBusName=r.bus))
        if found is None:
            return None
        targets = events.list_targets_by_rule(Rule=r.name, EventBusName=r.bus)["Targets"]
        pattern = found.get("EventPattern")
        return {
            "attrs": {"arn": found["Arn"]},
            "rule": {
                "pattern": json.loads(pattern) if pattern else None,
                "schedule": found.get("ScheduleExpression"),
                "state": found.get("State"),
                "description": found.get("Description", ""),
            },
            "targets": sorted((_target_shape(t) for t in targets), key=lambda t: t["Id"]),
        }

    def read_sesidentity(self, r: m.SesIdentity) -> Observed | None:
        return {"attrs": {}} if ses_identity_exists(self.target, r.name) else None

    def read_sestemplate(self, r: m.SesTemplate) -> Observed | None:
        found = missing(lambda: self.target.client("ses").get_template(TemplateName=r.name))
        if found is None:
            return None
        t = found["Template"]
        return {
            "attrs": {},
            "content": (t.get("SubjectPart"), t.get("HtmlPart", ""), t.get("TextPart", "")),
        }

    def read_restapi(self, r: m.RestApi) -> Observed | None:
        api = find_rest_api(self.target, r.name, self.stack)
        if api is None:
            return None
        gateway = self.target.client("apigateway")
        api_id = api["id"]
        resources = list(
            paginate(gateway, "get_resources", "items", restApiId=api_id, embed=["methods"])
        )
        routes = {}
        for item in resources:
            for method in item.get("resourceMethods", {}) or {}:
                integration = missing(
                    functools.partial(
                        gateway.get_integration,
                        restApiId=api_id,
                        resourceId=item["id"],
                        httpMethod=method,
                    )
                )
                routes[(item.get("pathPart"), method)] = (
                    None
                    if integration is None
                    else (integration.get("type"), integration.get("uri"))
                )
        stage = missing(lambda: gateway.get_stage(restApiId=api_id, stageName=r.stage))
        fingerprint = None
        if stage is not None and stage.get("deploymentId"):
            deployment = missing(
                lambda: gateway.get_deployment(restApiId=api_id, deploymentId=stage["deploymentId"])
            )
            fingerprint = (deployment or {}).get("description")
        return {
            "attrs": {"id": api_id, "root": api.get("rootResourceId", "")},
            "resources": {i.get("path"): i["id"] for i in resources},
            "routes": routes,
            "fingerprint": fingerprint,
        }


def ses_identity_exists(target: Target, identity: str) -> bool:
    """Listed, not asked about: LocalStack reports any identity as verified when asked."""
    kind = "EmailAddress" if "@" in identity else "Domain"
    ses = target.client("ses")
    return identity in paginate(ses, "list_identities", "Identities", IdentityType=kind)


def find_rest_api(target: Target, name: str, stack: str) -> dict[str, Any] | None:
    """Our REST API of that name: names are not unique in API Gateway, our tag is."""
    gateway = target.client("apigateway")
    ours = [
        api
        for api in paginate(gateway, "get_rest_apis", "items")
        if api.get("name") == name and tags_as_map(api.get("tags")).get(TAG_KEY) == stack
    ]
    if len(ours) > 1:
        ids = ", ".join(a["id"] for a in ours)
        raise DeployError(
            f"several REST APIs named {name} belong to stack {stack} ({ids}): delete the extra "
            "ones with 'aws apigateway delete-rest-api'"
        )
    return ours[0] if ours else None


def _function_config(**values: Any) -> dict[str, Any]:
    values["environment"] = dict(values.get("environment") or {})
    return values


def _target_shape(target: dict[str, Any]) -> dict[str, Any]:
    """The parts of a rule target we manage, in the shape PutTargets takes."""
    shape: dict[str, Any] = {"Id": target["Id"], "Arn": target["Arn"]}
    retry = target.get("RetryPolicy")
    if retry:
        shape["RetryPolicy"] = {
            "MaximumRetryAttempts": retry.get("MaximumRetryAttempts"),
            "MaximumEventAgeInSeconds": retry.get("MaximumEventAgeInSeconds"),
        }
    dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letter:
        shape["DeadLetterConfig"] = {"Arn": dead_letter}
    return shape


def desired_targets(rule: m.Rule, known: dict[str, str], *, strict: bool) -> list[dict[str, Any]]:
    """A rule's targets as PutTargets wants them."""
    shapes = []
    for t in rule.targets:
        shape: dict[str, Any] = {
            "Id": t.id,
            "Arn": resolve(t.arn, known, strict=strict),
            "RetryPolicy": {
                "MaximumRetryAttempts": t.retry.maximum_retry_attempts,
                "MaximumEventAgeInSeconds": t.retry.maximum_event_age_seconds,
            },
        }
        if t.dead_letter_arn is not None:
            shape["DeadLetterConfig"] = {"Arn": resolve(t.dead_letter_arn, known, strict=strict)}
        shapes.append(shape)
    return sorted(shapes, key=lambda s: s["Id"])


def invoke_config_shape(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a function's event invoke config we manage (absent destinations: None)."""
    destinations = config.get("DestinationConfig") or {}
    return {
        "MaximumRetryAttempts": config.get("MaximumRetryAttempts"),
        "MaximumEventAgeInSeconds": config.get("MaximumEventAgeInSeconds"),
        "OnFailure": (destinations.get("OnFailure") or {}).get("Destination"),
        "OnSuccess": (destinations.get("OnSuccess") or {}).get("Destination"),
    }


def desired_invoke_config(
    r: m.EventInvokeConfig, known: dict[str, str], *, strict: bool
) -> dict[str, Any]:
    return {
        "MaximumRetryAttempts": r.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": r.maximum_event_age_seconds,
        "OnFailure": resolve(r.on_failure, known, strict=strict),
        "OnSuccess": None,
    }


def desired_function_config(
    r: m.Function, known: dict[str, str], *, strict: bool
) -> dict[str, Any]:
    return _function_config(
        role=resolve(r.role, known, strict=strict),
        handler=r.handler,
        runtime=r.runtime,
        timeout=r.timeout,
        memory=r.memory,
        environment=resolve(dict(r.environment), known, strict=strict),
    )


def api_fingerprint(r: m.RestApi, known: dict[str, str], *, strict: bool) -> str:
    """A hash of what the API routes to, kept in the deployment's description: a changed
    hash means the stage serves an outdated deployment."""
    shape = [
        (route.path_part, route.http_method, resolve(route.integration_uri(), known, strict=strict))
        for route in r.routes
    ]
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
    return f"skybook:{digest}"


def changes(r: Resource, current: Observed, known: dict[str, str]) -> list[str]:
    """What differs between a desired resource and what exists (empty: nothing)."""

    def want(value: Any) -> Any:
        return resolve(value, known, strict=False)

    found: list[str] = []
    if isinstance(r, m.Table):
        keys = {"HASH": r.hash_key, "RANGE": r.range_key}
        if current["keys"] != keys:
            raise DeployError(
                f"table {r.name} has keys {current['keys']} but the stack wants {keys}: keys "
                "cannot change, so delete the table (losing its data) and apply again"
            )
        if current["billing_mode"] != r.billing_mode:
            found.append("billing mode")
    elif isinstance(r, m.Queue):
        wanted_policy = want(m.policy_document(r.policy)) if r.policy else None
        if normalize_policy(current["policy"]) != normalize_policy(wanted_policy):
            found.append("policy")
        if current["retention"] != r.message_retention_seconds:
            found.append("retention")
    elif isinstance(r, m.LogGroup):
        if current["retention"] != r.retention_days:
            found.append("retention")
        if not current["tagged"]:
            found.append("tags")
    elif isinstance(r, m.LogResourcePolicy):
        if normalize_policy(current["policy"]) != normalize_policy(
            want(m.policy_document(r.statements))
        ):
            found.append("policy")
    elif isinstance(r, m.Role):
        if normalize_policy(current["trust"]) != normalize_policy(r.trust_document()):
            found.append("trust")
        if normalize_policy(current["policy"]) != normalize_policy(want(r.policy())):
            found.append("policy")
    elif isinstance(r, m.Function):
        if current["sha256"] != r.code.sha256:
            found.append("code")
        if current["config"] != desired_function_config(r, known, strict=False):
            found.append("config")
    elif isinstance(r, m.EventInvokeConfig):
        if current["config"] != desired_invoke_config(r, known, strict=False):
            found.append("config")
    elif isinstance(r, m.LambdaPermission):
        if (
            current["principal"] != r.principal
            or current["source_arn"] != want(r.source_arn)
            or current["action"] != r.action
        ):
            found.append("source")
    elif isinstance(r, m.Rule):
        rule = {
            "pattern": want(r.event_pattern),
            "schedule": r.schedule,
            "state": "ENABLED",
            "description": r.description,
        }
        if current["rule"] != rule:
            found.append("rule")
        if current["targets"] != desired_targets(r, known, strict=False):
            found.append("targets")
    elif isinstance(r, m.SesTemplate):
        if current["content"] != (r.subject, r.html, r.text):
            found.append("content")
    elif isinstance(r, m.RestApi):
        for route in r.routes:
            integration = current["routes"].get((route.path_part, route.http_method))
            wanted = ("AWS_PROXY", want(route.integration_uri()))
            if integration != wanted:
                found.append("routes")
                break
        if current["fingerprint"] != api_fingerprint(r, known, strict=False):
            found.append("deployment")
    return found


def base_known(target: Target) -> dict[str, str]:
    return {"AWS::AccountId": target.account, "AWS::Region": target.region}


def plan_desired(target: Target, stack: str, resources: list[Resource]) -> Plan:
    """Create, update or no-change steps for the desired resources, in their order."""
    known = base_known(target)
    for r in resources:
        for attr, value in r.predicted(target.account, target.region).items():
            known[f"{r.name}.{attr}"] = value
    reader = Reader(target, stack)
    # Keyed by kind too: a function and its event invoke config share the function's name.
    observed: dict[tuple[str, str], Observed | None] = {}
    for r in resources:
        current = reader.read(r)
        observed[(r.kind, r.name)] = current
        if current is not None:
            for attr, value in current["attrs"].items():
                known[f"{r.name}.{attr}"] = value
    steps: list[Step] = []
    for r in resources:
        current = observed[(r.kind, r.name)]
        if current is None:
            steps.append(Create(r.kind, r.name, resource=r))
            continue
        diff = changes(r, current, known)
        if diff:
            steps.append(Update(r.kind, r.name, resource=r, changes=tuple(diff), current=current))
        else:
            steps.append(NoChange(r.kind, r.name, resource=r))
    return Plan(steps=steps, known=known)
