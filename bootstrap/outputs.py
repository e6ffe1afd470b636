"""The stack's outputs: the values other tools need to use it (the CLI, the tests, the console).

Two ways to the same dict: :func:`build_outputs` from the settings and the values an apply
knows, and :func:`stack_outputs` from the deployed stack itself (its tagged resources and the
functions' environment), which needs nothing but the target and the stack's name. The
outputs file is a copy of the last one, for tools that read it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bootstrap import stack as stack_module
from bootstrap.aws import paginate, parse_policy
from bootstrap.errors import DeployError
from bootstrap.resources import event_bus, function, queue, rest_api, role, rule
from bootstrap.resources.base import Context
from bootstrap.resources.log_group import event_log_group
from bootstrap.settings import Settings
from bootstrap.target import Target

SEND_EMAIL = "ses:SendTemplatedEmail"
EPOCH = datetime.fromtimestamp(0, UTC)


def _outputs(
    target: Target,
    stack: str,
    *,
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
) -> dict[str, Any]:
    api_url = target.api_url(api_id, stage) if api_id else None
    return {
        "stack": stack,
        "region": target.region,
        "account": account,
        "endpoint": target.endpoint,
        "apiId": api_id,
        "stage": stage,
        "apiUrl": api_url,
        "bookFlightUrl": f"{api_url}/book-flight" if api_url else None,
        "eventBusName": bus,
        "eventBusArn": bus_arn,
        "tableName": table,
        "functions": {logical: f"{stack}-{logical}" for logical in stack_module.FUNCTIONS.values()},
        "dlqUrl": dlq_url,
        "failedEventsUrl": failed_events_url,
        "senderEmail": sender_email,
        "sesIdentity": identity,
        "templates": templates,
        "eventLogGroup": event_log_group(stack) if event_log else None,
    }


def build_outputs(
    settings: Settings, target: Target, known: dict[str, str], templates: list[str]
) -> dict[str, Any]:
    """The outputs from the settings and what an apply knows (``<name>.<attr>`` values)."""
    s = settings
    return _outputs(
        target,
        s.stack_name,
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
    )


def stack_outputs(target: Target, stack: str = "skybook") -> dict[str, Any]:
    """The outputs of ``stack`` as deployed on ``target``, read from the stack itself.

    The function names, queues, API and rules are found by tag; the table, bus, sender and
    templates are what the functions are configured with; the SES identity is the one the
    sender's role may send as; the stage is the API's (the latest deployed, if several).
    """
    ctx = Context(target, stack)

    def absent(what: str) -> DeployError:
        return DeployError(
            f"stack {stack} is not (fully) deployed on {target.describe()}: {what} missing; "
            "run 'python -m bootstrap apply'"
        )

    names = {logical: f"{stack}-{logical}" for logical in stack_module.FUNCTIONS.values()}
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
    dlq, failed = f"{stack}-{stack_module.DLQ}", f"{stack}-{stack_module.FAILED_EVENTS}"
    for name in (dlq, failed):
        if name not in queues:
            raise absent(f"queue {name}")
    api_name = f"{stack}-{stack_module.API}"
    api_id = {step.name: step.locator for step in rest_api.KIND.find_owned(ctx)}.get(api_name)
    if api_id is None:
        raise absent(f"REST API {api_name}")
    stage = _latest_stage(ctx, api_id)
    if stage is None:
        raise absent(f"a deployed stage of REST API {api_name}")
    identity = _sender_identity(ctx, sender.role or "")
    if identity is None:
        raise absent(f"the SES identity in the policy of {sender.role}")
    rules = {step.name for step in rule.KIND.find_owned(ctx)}
    return _outputs(
        target,
        stack,
        account=target.account,
        api_id=api_id,
        stage=stage,
        bus=bus,
        bus_arn=bus_state.arn,
        table=table,
        dlq_url=queues[dlq],
        failed_events_url=queues[failed],
        sender_email=sender_email,
        identity=identity,
        templates=templates,
        event_log=f"{stack}-{stack_module.ALL_EVENTS_RULE}" in rules,
    )


def _latest_stage(ctx: Context, api_id: str) -> str | None:
    """The API's deployed stage; of several (the stage setting changed), the one with the
    latest deployment (of two as old, the later listed: services list in creation order)."""
    gateway = ctx.client("apigateway")
    items = gateway.get_stages(restApiId=api_id).get("item", [])
    stages = [str(s["stageName"]) for s in items if s.get("deploymentId")]
    if len(stages) < 2:
        return stages[0] if stages else None
    deployed = {s["stageName"]: s["deploymentId"] for s in items}
    deployments = paginate(gateway, "get_deployments", "items", restApiId=api_id)
    order = {d["id"]: (d.get("createdDate", EPOCH), i) for i, d in enumerate(deployments)}
    return max(stages, key=lambda stage: order.get(deployed[stage], (EPOCH, -1)))


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
    """The outputs of the last apply, as written to the outputs file."""
    path = Path(path)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(
            f"no outputs file at {path}: deploy the stack first with 'python -m bootstrap apply'"
        ) from None
    return data


def outputs_stack(path: Path) -> str | None:
    """The stack an outputs file is about (None: no readable file)."""
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("stack"))
    except (OSError, ValueError):
        return None
