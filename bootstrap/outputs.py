"""The stack's outputs: the values other tools need to use it (the CLI, the tests, the console).

Two ways to the same dict: :func:`build_outputs` from the settings and the values an apply
knows, and :func:`stack_outputs` from the deployed stack itself (its tagged resources and the
functions' environment), which needs nothing but the target, the stack's name and its stage
(the stage is part of the deployment's names, so it cannot be read back: it is what finds
them). The outputs file is a copy, written only when asked for (``--outputs-file``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bootstrap import stack as stack_module
from bootstrap.aws import missing, parse_policy
from bootstrap.errors import DeployError
from bootstrap.resources import api_key, event_bus, function, queue, rest_api, role, rule
from bootstrap.resources.base import Context
from bootstrap.resources.log_group import event_log_group
from bootstrap.settings import DEFAULT_STACK, DEFAULT_STAGE, Settings, deployment_name
from bootstrap.target import Target

SEND_EMAIL = "ses:SendTemplatedEmail"


def _outputs(
    target: Target,
    stack: str,
    *,
    deployment: str,
    account: str | None,
    api_id: str | None,
    stage: str,
    bus: str,
    bus_arn: str | None,
    table: str,
    dlq_url: str | None,
    failed_events_url: str | None,
    sender_email: str,
    identity: str,
    templates: list[str],
    event_log: bool,
    api_auth: str,
    api_key_id: str | None,
) -> dict[str, Any]:
    api_url = target.api_url(api_id, stage) if api_id else None
    return {
        "stack": stack,
        "deployment": deployment,
        "region": target.region,
        "account": account,
        "endpoint": target.endpoint,
        "apiId": api_id,
        "stage": stage,
        "apiUrl": api_url,
        "bookFlightUrl": f"{api_url}/book-flight" if api_url else None,
        "apiAuth": api_auth,  # none, api-key (header x-api-key) or iam (SigV4)
        "apiKeyId": api_key_id,  # the value: aws apigateway get-api-key --include-value
        "eventBusName": bus,
        "eventBusArn": bus_arn,
        "tableName": table,
        "functions": {
            logical: f"{deployment}-{logical}" for logical in stack_module.FUNCTIONS.values()
        },
        "dlqUrl": dlq_url,
        "failedEventsUrl": failed_events_url,
        "senderEmail": sender_email,
        "sesIdentity": identity,
        "templates": templates,
        "eventLogGroup": event_log_group(deployment) if event_log else None,
    }


def build_outputs(
    settings: Settings, target: Target, known: dict[str, str], templates: list[str]
) -> dict[str, Any]:
    """The outputs from the settings and what an apply knows (``<name>.<attr>`` values)."""
    s = settings
    return _outputs(
        target,
        s.stack_name,
        deployment=s.deployment,
        account=known.get("AWS::AccountId"),
        api_id=known.get(f"{s.name(stack_module.API)}.id"),
        stage=s.stage,
        bus=s.name(stack_module.BUS),
        bus_arn=known.get(f"{s.name(stack_module.BUS)}.arn"),
        table=s.name(stack_module.TABLE),
        dlq_url=known.get(f"{s.name(stack_module.DLQ)}.url"),
        failed_events_url=known.get(f"{s.name(stack_module.FAILED_EVENTS)}.url"),
        sender_email=s.sender_email,
        identity=s.identity,
        templates=templates,
        event_log=s.event_log,
        api_auth=s.api_auth,
        api_key_id=known.get(f"{s.name(stack_module.API_KEY)}.id"),
    )


def stack_outputs(
    target: Target, stack: str = DEFAULT_STACK, stage: str | None = None
) -> dict[str, Any]:
    """The outputs of ``stack`` at ``stage`` (None: the default stage) as deployed on
    ``target``, read from the deployment itself.

    The function names, queues, API, API key and rules are found by tag; the table, bus,
    sender and templates are what the functions are configured with; the SES identity is the
    one the sender's role may send as; the API's auth is its route's.
    """
    deployment = deployment_name(stack, stage)
    ctx = Context(target, deployment)

    def absent(what: str) -> DeployError:
        at = f" at stage {stage}" if deployment != stack else ""
        return DeployError(
            f"stack {stack}{at} is not (fully) deployed on {target.describe()}: {what} "
            "missing; run 'python -m bootstrap apply'"
            + ("" if at else " (or pass --stage S if it was deployed to another stage)")
        )

    names = {logical: f"{deployment}-{logical}" for logical in stack_module.FUNCTIONS.values()}
    found = {step.name for step in function.KIND.find_owned(ctx)}
    for name in names.values():
        if name not in found:
            raise absent(f"function {name}")
    configs = {}
    for logical in ("bookFlight", "sendBookingReceipt"):
        state = function.read_function(ctx, names[logical])
        if state is None:
            raise absent(f"function {names[logical]}")
        configs[logical] = state.config
    sender = configs["sendBookingReceipt"]
    try:
        bus = configs["bookFlight"].environment["EVENT_BUS_NAME"]
        table = sender.environment["TABLE_NAME"]
        sender_email = sender.environment["SENDER_EMAIL"]
        templates = [
            sender.environment["RECEIPT_TEMPLATE_NAME"],
            sender.environment["REJECTION_TEMPLATE_NAME"],
        ]
    except KeyError as error:
        raise absent(f"the functions' environment variable {error}") from None
    bus_state = event_bus.KIND.read(ctx, event_bus.EventBus(bus))
    if bus_state is None:
        raise absent(f"event bus {bus}")
    queues = {step.name: step.locator for step in queue.KIND.find_owned(ctx)}
    dlq = f"{deployment}-{stack_module.DLQ}"
    failed = f"{deployment}-{stack_module.FAILED_EVENTS}"
    for name in (dlq, failed):
        if name not in queues:
            raise absent(f"queue {name}")
    api_name = f"{deployment}-{stack_module.API}"
    api = rest_api.KIND.read(ctx, rest_api.RestApi(api_name, routes=()))
    if api is None:
        raise absent(f"REST API {api_name}")
    api_stage = stage or DEFAULT_STAGE
    gateway = ctx.client("apigateway")
    if missing(lambda: gateway.get_stage(restApiId=api.id, stageName=api_stage)) is None:
        raise absent(f"stage {api_stage} of REST API {api_name}")
    key = api_key.find_api_key(ctx, f"{deployment}-{stack_module.API_KEY}")
    identity = _sender_identity(ctx, sender.role or "")
    if identity is None:
        raise absent(f"the SES identity in the policy of {sender.role}")
    rules = {step.name for step in rule.KIND.find_owned(ctx)}
    return _outputs(
        target,
        stack,
        deployment=deployment,
        account=target.account,
        api_id=api.id,
        stage=api_stage,
        bus=bus,
        bus_arn=bus_state.arn,
        table=table,
        dlq_url=queues[dlq],
        failed_events_url=queues[failed],
        sender_email=sender_email,
        identity=identity,
        templates=templates,
        event_log=f"{deployment}-{stack_module.ALL_EVENTS_RULE}" in rules,
        api_auth=_auth(api),
        api_key_id=None if key is None else key["id"],
    )


def _auth(api: rest_api.RestApiState) -> str:
    """How POST /book-flight is guarded, in the words of ``--api-auth``."""
    method = api.routes.get(("book-flight", "POST"))
    if method is not None and method.authorization == rest_api.IAM_AUTH:
        return "iam"
    if method is not None and method.api_key_required:
        return "api-key"
    return "none"


def _sender_identity(ctx: Context, role_arn: str) -> str | None:
    """The SES identity (address or domain) the role's policy lets it send as."""
    state = role.read_role(ctx, role_arn.rsplit("/", 1)[-1])
    policy = parse_policy(state.policy) if state is not None else None
    for statement in (policy or {}).get("Statement", []):
        actions, resources = statement.get("Action", []), statement.get("Resource", [])
        if SEND_EMAIL not in ([actions] if isinstance(actions, str) else actions):
            continue
        for arn in [resources] if isinstance(resources, str) else resources:
            kind, _, name = arn.rpartition(":")[2].partition("/")
            if kind == "identity":
                return name
    return None


def write_outputs(path: Path | str, outputs: dict[str, Any]) -> None:
    """Write atomically, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_outputs(path: Path | str = ".skybook/outputs.json") -> dict[str, Any]:
    """The outputs an apply (or ``outputs``) wrote to an outputs file."""
    path = Path(path)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(
            f"no outputs file at {path}: deploy the stack first with 'python -m bootstrap apply'"
        ) from None
    return data


def describes(path: Path, settings: Settings, target: Target) -> bool:
    """Whether an outputs file is about this deployment on this target (so destroy removes
    it with the deployment, and never a file about another)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        data.get("stack") == settings.stack_name
        and data.get("deployment", data.get("stack")) == settings.deployment
        and data.get("endpoint") == target.endpoint
        and data.get("region") == target.region
    )
