"""The four operations, put together: plan, apply (deploy), destroy, outputs."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from bootstrap import stack as stack_module
from bootstrap.errors import DeployError, friendly_message
from bootstrap.executor import Executor, Progress, stderr_progress
from bootstrap.planner import plan_desired
from bootstrap.settings import Settings
from bootstrap.stack import desired_stack
from bootstrap.steps import Plan, Step
from bootstrap.sweeper import destroy_steps, sweep_steps
from bootstrap.target import Target

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Result:
    """What an apply or destroy did: the steps carried out and the stack's outputs."""

    applied: list[Step]
    outputs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.applied:
            return "No changes: the stack is up to date."
        return f"{len(self.applied)} change{'s' if len(self.applied) != 1 else ''} applied"


def _friendly(
    function: Callable[Concatenate[Settings, Target, P], R],
) -> Callable[Concatenate[Settings, Target, P], R]:
    """Turn AWS and connection errors into a one-line :class:`DeployError`."""

    @functools.wraps(function)
    def wrapper(settings: Settings, target: Target, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(settings, target, *args, **kwargs)
        except DeployError:
            raise
        except Exception as error:
            message = friendly_message(error, target.unreachable_message())
            if message is None:
                raise
            raise DeployError(message) from error

    return wrapper


@_friendly
def plan(settings: Settings, target: Target) -> Plan:
    """Steps that would bring the target to the desired stack (reads only)."""
    resources = desired_stack(settings)
    result = plan_desired(target, settings.stack_name, resources)
    result.steps.extend(sweep_steps(target, settings.stack_name, resources))
    return result


@_friendly
def deploy(
    settings: Settings, target: Target, *, progress: Progress = stderr_progress, **options: Any
) -> Result:
    """Create or update everything, delete what is no longer desired, write the outputs."""
    the_plan = plan(settings, target)
    executor = Executor(target, settings.stack_name, the_plan.known, progress=progress, **options)
    applied = executor.execute(the_plan.steps)
    outputs = build_outputs(settings, target, executor.known)
    write_outputs(settings.outputs_file, outputs)
    notes = [] if target.is_local else ses_notes(target, settings.identity)
    return Result(applied=applied, outputs=outputs, notes=notes)


def ses_notes(target: Target, identity: str) -> list[str]:
    """On AWS an identity sends nothing until verified: say what verifying it takes."""
    ses = target.client("ses")
    status = (
        ses.get_identity_verification_attributes(Identities=[identity])
        .get("VerificationAttributes", {})
        .get(identity, {})
    )
    if status.get("VerificationStatus") == "Success":
        return []
    if "@" in identity:
        how = f"open the link SES mailed to {identity}"
    else:
        how = (
            f"add the DNS TXT record _amazonses.{identity} = "
            f"{status.get('VerificationToken', '<token>')}"
        )
    return [
        f"SES identity {identity} is not verified yet: {how}. While the account is in the SES "
        "sandbox, recipients must be verified identities too."
    ]


@_friendly
def destroy_plan(settings: Settings, target: Target) -> Plan:
    templates, identity = _ses_names(settings)
    return destroy_steps(target, settings.stack_name, templates, identity)


@_friendly
def destroy(
    settings: Settings, target: Target, *, progress: Progress = stderr_progress, **options: Any
) -> Result:
    """Delete every resource of the stack, and nothing that is not the stack's."""
    the_plan = destroy_plan(settings, target)
    applied = Executor(target, settings.stack_name, {}, progress=progress, **options).execute(
        the_plan.steps
    )
    outputs_file = Path(settings.outputs_file)
    if outputs_file.is_file() and _outputs_stack(outputs_file) == settings.stack_name:
        outputs_file.unlink()
    return Result(applied=applied, notes=the_plan.notes)


@_friendly
def outputs(settings: Settings, target: Target) -> dict[str, Any]:
    """The outputs of the deployed stack, read from the target (and written to the file)."""
    the_plan = plan(settings, target)
    missing = [s.name for s in the_plan.steps if s.verb == "create"]
    if missing:
        raise DeployError(
            f"stack {settings.stack_name} is not (fully) deployed on {target.describe()}: "
            f"{len(missing)} resources missing, e.g. {missing[0]}; run 'python -m bootstrap apply'"
        )
    result = build_outputs(settings, target, the_plan.known)
    write_outputs(settings.outputs_file, result)
    return result


def build_outputs(settings: Settings, target: Target, known: dict[str, str]) -> dict[str, Any]:
    """The values other tools need to use the stack (the CLI, the tests, the console)."""
    s = settings
    api_id = known.get(f"{s.name('api')}.id")
    api_url = target.api_url(api_id, s.stage) if api_id else None
    templates, _ = _ses_names(s)
    return {
        "stack": s.stack_name,
        "region": target.region,
        "account": known.get("AWS::AccountId"),
        "endpoint": target.endpoint,
        "apiId": api_id,
        "stage": s.stage,
        "apiUrl": api_url,
        "bookFlightUrl": f"{api_url}/book-flight" if api_url else None,
        "eventBusName": s.name("bus"),
        "eventBusArn": known.get(f"{s.name('bus')}.arn"),
        "tableName": s.name("flights"),
        "functions": {logical: s.name(logical) for logical in stack_module.FUNCTIONS.values()},
        "dlqUrl": known.get(f"{s.name('events-dlq')}.url"),
        "failedEventsUrl": known.get(f"{s.name('failed-events')}.url"),
        "senderEmail": s.sender_email,
        "sesIdentity": s.identity,
        "templates": templates,
        "eventLogGroup": f"/aws/events/{s.stack_name}" if s.event_log else None,
    }


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


def _outputs_stack(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("stack"))
    except (OSError, ValueError):
        return None


def _ses_names(settings: Settings) -> tuple[list[str], str | None]:
    """Template names from the manifest (or the two the functions need, without one)."""
    try:
        names = [t.name for t in stack_module.load_templates(settings.functions_dir)]
    except stack_module.ManifestError:
        names = [stack_module.RECEIPT_TEMPLATE, stack_module.REJECTION_TEMPLATE]
    return names, None if settings.keep_identity else settings.identity
