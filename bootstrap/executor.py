"""Carry out a plan's steps, in order, against a target.

Each step resolves its references (ARNs, the API id) from what earlier steps created, so
a fresh account is deployed in one pass. Waits have deadlines: a resource stuck in a
pending state fails the step with a message instead of hanging the deploy.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from bootstrap import models as m
from bootstrap.aws import error_code, missing, paginate, tag_list, tag_map, wait_for
from bootstrap.errors import DeployError
from bootstrap.models import is_resolved, resolve
from bootstrap.planner import (
    api_fingerprint,
    desired_function_config,
    desired_invoke_config,
    desired_targets,
)
from bootstrap.retry import retry
from bootstrap.steps import Create, Delete, NoChange, Step, Update
from bootstrap.target import Target

Progress = Callable[[str], None]


def stderr_progress(text: str) -> None:
    print(text, file=sys.stderr, end="", flush=True)


class Executor:
    """Applies steps; ``known`` is updated with the attributes of what it creates."""

    def __init__(
        self,
        target: Target,
        stack: str,
        known: dict[str, str],
        *,
        progress: Progress = stderr_progress,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wait_timeout: float = 180.0,
        role_propagation_timeout: float = 120.0,
    ) -> None:
        self.target = target
        self.stack = stack
        self.known = known
        self.progress = progress
        self.sleep = sleep
        self.clock = clock  # deadlines of waits and retries; tests fake it with ``sleep``
        self.wait_timeout = wait_timeout
        self.role_propagation_timeout = role_propagation_timeout

    # --- driver ---------------------------------------------------------------------------

    def execute(self, steps: list[Step]) -> list[Step]:
        """Run every change step (no-change steps only lend their attributes)."""
        todo = [s for s in steps if s.is_change]
        done: list[Step] = []
        for index, step in enumerate(todo, start=1):
            self.progress(f"[{index}/{len(todo)}] {step.describe()} ...")
            started = time.monotonic()
            try:
                self.run(step)
            except Exception:
                self.progress(" failed\n")
                raise
            self.progress(f" done ({time.monotonic() - started:.1f}s)\n")
            done.append(step)
        return done

    def run(self, step: Step) -> None:
        if isinstance(step, NoChange):
            return
        if isinstance(step, Delete):
            from bootstrap.sweeper import delete

            delete(self.target, step)
            return
        assert isinstance(step, Create | Update) and step.resource is not None
        handler = getattr(
            self,
            f"{'create' if isinstance(step, Create) else 'update'}_{step.resource.kind.lower()}",
        )
        attrs = handler(step.resource) if isinstance(step, Create) else handler(step.resource, step)
        for attr, value in (attrs or {}).items():
            self.known[f"{step.resource.name}.{attr}"] = value

    def value(self, value: Any) -> Any:
        """Resolve references now; everything referenced must exist by this step."""
        resolved = resolve(value, self.known, strict=False)
        if not is_resolved(resolved):
            raise DeployError(
                f"internal ordering problem: {resolved} refers to something not created yet; "
                "check the order of bootstrap/stack.py"
            )
        return resolved

    def policy_json(self, statements: tuple[m.Statement, ...]) -> str:
        return json.dumps(self.value(m.policy_document(statements)), sort_keys=True)

    # --- EventBridge bus ------------------------------------------------------------------

    def create_eventbus(self, r: m.EventBus) -> dict[str, str]:
        events = self.target.client("events")
        arn = events.create_event_bus(Name=r.name, Tags=tag_list(self.stack))["EventBusArn"]
        return {"arn": arn}

    # --- DynamoDB -------------------------------------------------------------------------

    def create_table(self, r: m.Table) -> dict[str, str]:
        ddb = self.target.client("dynamodb")
        table = ddb.create_table(
            TableName=r.name,
            KeySchema=[
                {"AttributeName": r.hash_key, "KeyType": "HASH"},
                {"AttributeName": r.range_key, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": r.hash_key, "AttributeType": "S"},
                {"AttributeName": r.range_key, "AttributeType": "S"},
            ],
            BillingMode=r.billing_mode,
            Tags=tag_list(self.stack),
        )["TableDescription"]
        self._wait_table(r.name)
        return {"arn": table["TableArn"]}

    def update_table(self, r: m.Table, step: Update) -> None:
        self.target.client("dynamodb").update_table(TableName=r.name, BillingMode=r.billing_mode)
        self._wait_table(r.name)

    def _wait_table(self, name: str) -> None:
        ddb = self.target.client("dynamodb")
        wait_for(
            f"table {name} to become ACTIVE",
            lambda: ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE",
            timeout=self.wait_timeout,
            sleep=self.sleep,
            clock=self.clock,
        )

    # --- SQS ------------------------------------------------------------------------------

    def create_queue(self, r: m.Queue) -> dict[str, str]:
        sqs = self.target.client("sqs")
        url = retry(
            lambda: sqs.create_queue(
                QueueName=r.name,
                Attributes={"MessageRetentionPeriod": str(r.message_retention_seconds)},
                tags=tag_map(self.stack),
            )["QueueUrl"],
            # AWS refuses a queue name for 60 s after a queue of that name was deleted
            # (destroy, then apply right away); past the deadline its own error says so.
            retryable=lambda error: "QueueDeletedRecently" in error_code(error),
            timeout=75.0,
            sleep=self.sleep,
            clock=self.clock,
            delay=5.0,
            max_delay=5.0,
        )
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.known[f"{r.name}.arn"] = arn
        if r.policy:
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": self.policy_json(r.policy)}
            )
        return {"arn": arn, "url": url}

    def update_queue(self, r: m.Queue, step: Update) -> None:
        self.target.client("sqs").set_queue_attributes(
            QueueUrl=step.current["attrs"]["url"],
            Attributes={
                # An empty policy removes the queue's resource policy.
                "Policy": self.policy_json(r.policy) if r.policy else "",
                "MessageRetentionPeriod": str(r.message_retention_seconds),
            },
        )

    # --- CloudWatch Logs ------------------------------------------------------------------

    def create_loggroup(self, r: m.LogGroup) -> dict[str, str]:
        logs = self.target.client("logs")
        try:
            logs.create_log_group(logGroupName=r.name, tags=tag_map(self.stack))
        except botocore.exceptions.ClientError as error:
            if error_code(error) != "ResourceAlreadyExistsException":
                raise
            # Lambda made it on a first invocation before we did: adopt it.
            arn = m.LogGroup(r.name).predicted(self.target.account, self.target.region)["arn"]
            logs.tag_resource(resourceArn=arn, tags=tag_map(self.stack))
        logs.put_retention_policy(logGroupName=r.name, retentionInDays=r.retention_days)
        return r.predicted(self.target.account, self.target.region)

    def update_loggroup(self, r: m.LogGroup, step: Update) -> None:
        logs = self.target.client("logs")
        if "tags" in step.changes:
            logs.tag_resource(resourceArn=step.current["attrs"]["arn"], tags=tag_map(self.stack))
        if "retention" in step.changes:
            logs.put_retention_policy(logGroupName=r.name, retentionInDays=r.retention_days)

    def create_logresourcepolicy(self, r: m.LogResourcePolicy) -> None:
        self.target.client("logs").put_resource_policy(
            policyName=r.name, policyDocument=self.policy_json(r.statements)
        )

    def update_logresourcepolicy(self, r: m.LogResourcePolicy, step: Update) -> None:
        self.create_logresourcepolicy(r)

    # --- IAM ------------------------------------------------------------------------------

    def create_role(self, r: m.Role) -> dict[str, str]:
        iam = self.target.client("iam")
        arn = iam.create_role(
            RoleName=r.name,
            AssumeRolePolicyDocument=json.dumps(r.trust_document()),
            Description=f"skybook stack {self.stack}: {r.name}",
            Tags=tag_list(self.stack),
        )["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=r.name, PolicyName=r.name, PolicyDocument=self.policy_json(r.statements)
        )
        return {"arn": arn}

    def update_role(self, r: m.Role, step: Update) -> None:
        iam = self.target.client("iam")
        if "trust" in step.changes:
            iam.update_assume_role_policy(
                RoleName=r.name, PolicyDocument=json.dumps(r.trust_document())
            )
        if "policy" in step.changes:
            iam.put_role_policy(
                RoleName=r.name, PolicyName=r.name, PolicyDocument=self.policy_json(r.statements)
            )

    # --- Lambda ---------------------------------------------------------------------------

    def create_function(self, r: m.Function) -> dict[str, str]:
        config = self.value(desired_function_config(r, self.known, strict=False))
        client = self.target.client("lambda")
        created = self._await_iam(
            lambda: client.create_function(
                **_function_settings(r, config),
                Code={"ZipFile": r.code.zip_bytes},
                Tags=tag_map(self.stack),
            ),
            # A new IAM role takes a few seconds to be usable by Lambda on AWS.
            lambda message: "cannot be assumed" in message,
            f"function {r.name}: Lambda still cannot assume {config['role']}",
            "the role's trust policy is wrong",
        )
        self._wait_function(r.name)
        return {"arn": created["FunctionArn"]}

    def _await_iam(
        self, call: Callable[[], Any], refused: Callable[[str], bool], what: str, cause: str
    ) -> Any:
        """Run ``call``, retrying while AWS refuses it for an IAM change not yet propagated."""
        timeout = self.role_propagation_timeout
        return retry(
            call,
            retryable=lambda error: refused(_invalid_parameter_message(error)),
            timeout=timeout,
            sleep=self.sleep,
            clock=self.clock,
            gave_up=lambda _error: DeployError(
                f"{what} after {timeout:.0f}s (IAM propagation is slow, or {cause}): "
                "run apply again"
            ),
        )

    def update_function(self, r: m.Function, step: Update) -> None:
        client = self.target.client("lambda")
        if "code" in step.changes:
            client.update_function_code(FunctionName=r.name, ZipFile=r.code.zip_bytes)
            self._wait_function(r.name)
        if "config" in step.changes:
            config = self.value(desired_function_config(r, self.known, strict=False))
            client.update_function_configuration(**_function_settings(r, config))
            self._wait_function(r.name)

    def _wait_function(self, name: str) -> None:
        client = self.target.client("lambda")

        def ready() -> bool:
            config = client.get_function_configuration(FunctionName=name)
            state, update = config.get("State", "Active"), config.get("LastUpdateStatus")
            if state == "Failed" or update == "Failed":
                reason = config.get("StateReason") or config.get("LastUpdateStatusReason")
                raise DeployError(f"function {name} failed to deploy: {reason}")
            return bool(state == "Active" and update in (None, "Successful"))

        wait_for(
            f"function {name} to become Active",
            ready,
            timeout=self.wait_timeout,
            sleep=self.sleep,
            clock=self.clock,
        )

    def create_eventinvokeconfig(self, r: m.EventInvokeConfig) -> None:
        """Put the whole config (Put replaces; Update would merge with what is there)."""
        wanted = self.value(desired_invoke_config(r, self.known, strict=False))
        client = self.target.client("lambda")
        self._await_iam(
            lambda: client.put_function_event_invoke_config(
                FunctionName=r.name,
                MaximumRetryAttempts=wanted["MaximumRetryAttempts"],
                MaximumEventAgeInSeconds=wanted["MaximumEventAgeInSeconds"],
                DestinationConfig={"OnFailure": {"Destination": wanted["OnFailure"]}},
            ),
            # AWS checks that the function's role may send to the destination; a policy
            # statement just added takes a few seconds to count.
            lambda message: "permission" in message.lower(),
            f"function {r.name}: its role still may not send to {wanted['OnFailure']}",
            "the role's policy lacks sqs:SendMessage",
        )

    def update_eventinvokeconfig(self, r: m.EventInvokeConfig, step: Update) -> None:
        self.create_eventinvokeconfig(r)

    def create_lambdapermission(self, r: m.LambdaPermission) -> None:
        self.target.client("lambda").add_permission(
            FunctionName=r.function,
            StatementId=r.name,
            Action=r.action,
            Principal=r.principal,
            SourceArn=self.value(r.source_arn),
        )

    def update_lambdapermission(self, r: m.LambdaPermission, step: Update) -> None:
        client = self.target.client("lambda")
        missing(lambda: client.remove_permission(FunctionName=r.function, StatementId=r.name))
        self.create_lambdapermission(r)

    # --- EventBridge rules ----------------------------------------------------------------

    def _put_rule(self, r: m.Rule) -> str:
        params: dict[str, Any] = {
            "Name": r.name,
            "EventBusName": r.bus,
            "State": "ENABLED",
            "Description": r.description,
            "Tags": tag_list(self.stack),
        }
        if r.event_pattern is not None:
            params["EventPattern"] = json.dumps(self.value(r.event_pattern))
        if r.schedule is not None:
            params["ScheduleExpression"] = r.schedule
        return str(self.target.client("events").put_rule(**params)["RuleArn"])

    def _put_targets(self, r: m.Rule, current: list[dict[str, Any]]) -> None:
        events = self.target.client("events")
        wanted = self.value(desired_targets(r, self.known, strict=False))
        stale = [t["Id"] for t in current if t["Id"] not in {w["Id"] for w in wanted}]
        if stale:
            events.remove_targets(Rule=r.name, EventBusName=r.bus, Ids=stale)
        result = events.put_targets(Rule=r.name, EventBusName=r.bus, Targets=wanted)
        if result.get("FailedEntryCount"):
            raise DeployError(f"rule {r.name}: targets refused: {result.get('FailedEntries')}")

    def create_rule(self, r: m.Rule) -> dict[str, str]:
        arn = self._put_rule(r)
        self._put_targets(r, [])
        return {"arn": arn}

    def update_rule(self, r: m.Rule, step: Update) -> None:
        if "rule" in step.changes:
            self._put_rule(r)
        if "targets" in step.changes:
            self._put_targets(r, step.current["targets"])

    # --- SES ------------------------------------------------------------------------------

    def create_sesidentity(self, r: m.SesIdentity) -> None:
        ses = self.target.client("ses")
        if r.is_domain:
            ses.verify_domain_identity(Domain=r.name)
        else:
            ses.verify_email_identity(EmailAddress=r.name)

    def _template(self, r: m.SesTemplate) -> dict[str, str]:
        return {
            "TemplateName": r.name,
            "SubjectPart": r.subject,
            "HtmlPart": r.html,
            "TextPart": r.text,
        }

    def create_sestemplate(self, r: m.SesTemplate) -> None:
        self.target.client("ses").create_template(Template=self._template(r))

    def update_sestemplate(self, r: m.SesTemplate, step: Update) -> None:
        self.target.client("ses").update_template(Template=self._template(r))

    # --- API Gateway ----------------------------------------------------------------------

    def create_restapi(self, r: m.RestApi) -> dict[str, str]:
        gateway = self.target.client("apigateway")
        api = gateway.create_rest_api(
            name=r.name,
            description=f"skybook stack {self.stack}",
            endpointConfiguration={"types": ["REGIONAL"]},
            tags=tag_map(self.stack),
        )
        self.known[f"{r.name}.id"] = api["id"]
        root = api.get("rootResourceId") or next(
            item["id"]
            for item in paginate(gateway, "get_resources", "items", restApiId=api["id"])
            if item.get("path") == "/"
        )
        current = {"attrs": {"id": api["id"], "root": root}, "resources": {"/": root}, "routes": {}}
        self._ensure_routes(r, current)
        self._deploy(r, api["id"])
        return {"id": api["id"]}

    def update_restapi(self, r: m.RestApi, step: Update) -> None:
        api_id = step.current["attrs"]["id"]
        if "routes" in step.changes:
            self._ensure_routes(r, step.current)
        self._deploy(r, api_id)

    def _ensure_routes(self, r: m.RestApi, current: dict[str, Any]) -> None:
        gateway = self.target.client("apigateway")
        api_id = current["attrs"]["id"]
        resources = dict(current["resources"])
        for route in r.routes:
            path = f"/{route.path_part}"
            if path not in resources:
                resources[path] = gateway.create_resource(
                    restApiId=api_id, parentId=resources["/"], pathPart=route.path_part
                )["id"]
            resource_id = resources[path]
            uri = self.value(route.integration_uri())
            existing = current["routes"].get((route.path_part, route.http_method), "absent")
            if existing == ("AWS_PROXY", uri):
                continue
            if existing == "absent":
                gateway.put_method(
                    restApiId=api_id,
                    resourceId=resource_id,
                    httpMethod=route.http_method,
                    authorizationType="NONE",
                )
            gateway.put_integration(
                restApiId=api_id,
                resourceId=resource_id,
                httpMethod=route.http_method,
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=uri,
            )

    def _deploy(self, r: m.RestApi, api_id: str) -> None:
        self.target.client("apigateway").create_deployment(
            restApiId=api_id,
            stageName=r.stage,
            description=self.value(api_fingerprint(r, self.known, strict=False)),
        )


def _invalid_parameter_message(error: Exception) -> str:
    """The message of an InvalidParameterValueException; "" for any other error."""
    if error_code(error) != "InvalidParameterValueException":
        return ""
    assert isinstance(error, botocore.exceptions.ClientError)
    return str(error.response.get("Error", {}).get("Message", ""))


def _function_settings(r: m.Function, config: dict[str, Any]) -> dict[str, Any]:
    """The configuration arguments CreateFunction and UpdateFunctionConfiguration share."""
    return {
        "FunctionName": r.name,
        "Role": config["role"],
        "Handler": r.handler,
        "Runtime": r.runtime,
        "Timeout": r.timeout,
        "MemorySize": r.memory,
        "Environment": {"Variables": config["environment"]},
    }
