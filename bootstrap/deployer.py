"""The four operations, put together: plan, apply (deploy), destroy, outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from bootstrap import stack as stack_module
from bootstrap.errors import DeployError, friendly_message
from bootstrap.executor import Executor, Progress, stderr_progress
from bootstrap.models import Resource
from bootstrap.outputs import build_outputs, outputs_stack, stack_outputs, write_outputs
from bootstrap.planner import plan_desired
from bootstrap.resources.ses_identity import SesIdentity
from bootstrap.resources.ses_template import SesTemplate
from bootstrap.settings import Settings
from bootstrap.stack import desired_stack
from bootstrap.steps import Plan, Step
from bootstrap.sweeper import existing, in_deletion_order, other_stacks, sweep_steps
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
    outputs = build_outputs(settings, target, executor.known, _template_names(settings))
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
    """Everything of the stack, plus the SES templates and identity if they exist.

    SES has no tags and the names are fixed, so another stack in the same account and
    region uses the very same templates (and usually the identity): while one exists,
    they stay.
    """
    stack = settings.stack_name
    steps = sweep_steps(target, stack, [])
    others = other_stacks(target, stack)
    if others:
        note = (
            f"kept the SES identity and templates: stack(s) {', '.join(sorted(others))} "
            "in this account and region use them too"
        )
        return Plan(steps=steps, known={}, notes=[note])
    shared = existing(target, stack, _ses_resources(settings))
    return Plan(steps=in_deletion_order(steps + shared), known={})


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
    if outputs_file.is_file() and outputs_stack(outputs_file) == settings.stack_name:
        outputs_file.unlink()
    return Result(applied=applied, notes=the_plan.notes)


@_friendly
def outputs(settings: Settings, target: Target) -> dict[str, Any]:
    """The outputs of the deployed stack, read from the stack on the target (and written to
    the outputs file); only the stack name of ``settings`` counts."""
    result = stack_outputs(target, settings.stack_name)
    write_outputs(settings.outputs_file, result)
    return result


def _template_names(settings: Settings) -> list[str]:
    """Template names from the manifest (or the two the functions need, without one)."""
    try:
        return [t.name for t in stack_module.load_templates(settings.functions_dir)]
    except stack_module.ManifestError:
        return [stack_module.RECEIPT_TEMPLATE, stack_module.REJECTION_TEMPLATE]


def _ses_resources(settings: Settings) -> list[Resource]:
    """The SES templates and (unless kept) identity of the stack, found by name on destroy."""
    found: list[Resource] = [SesTemplate(name, "", "", "") for name in _template_names(settings)]
    return found if settings.keep_identity else [*found, SesIdentity(settings.identity)]
