"""The four operations, put together: plan, apply (deploy), destroy, outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from bootstrap import stack as stack_module
from bootstrap.errors import DeployError, friendly_message
from bootstrap.executor import Executor, Progress, stderr_progress
from bootstrap.models import Resource
from bootstrap.outputs import build_outputs, describes, stack_outputs, write_outputs
from bootstrap.planner import plan_desired
from bootstrap.resources.ses_identity import SesIdentity
from bootstrap.resources.ses_template import SesTemplate
from bootstrap.sender import check_sender, ses_status
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
    """Steps that would bring the target to the desired stack (reads only); on AWS, notes on
    where SES stands. A sender SES could never verify is refused first."""
    check_sender(settings, target)
    resources = desired_stack(settings)
    result = plan_desired(target, settings.deployment, resources, settings.resource_tags())
    result.steps.extend(sweep_steps(target, settings.deployment, resources))
    result.notes.extend(ses_status(target, settings.identity))
    return result


@_friendly
def deploy(
    settings: Settings,
    target: Target,
    *,
    progress: Progress = stderr_progress,
    planned: Plan | None = None,
    **options: Any,
) -> Result:
    """Create or update everything, delete what is no longer desired; write the outputs file
    if the settings name one. ``planned``: the plan to carry out (one the user confirmed),
    else a fresh one."""
    the_plan = planned if planned is not None else plan(settings, target)
    executor = Executor(
        target,
        settings.deployment,
        the_plan.known,
        progress=progress,
        tags=settings.resource_tags(),
        **options,
    )
    applied = executor.execute(the_plan.steps)
    outputs = build_outputs(settings, target, executor.known, _template_names(settings))
    if settings.outputs_file is not None:
        write_outputs(settings.outputs_file, outputs)
    notes = [] if target.is_local else ses_status(target, settings.identity)
    return Result(applied=applied, outputs=outputs, notes=notes)


@_friendly
def destroy_plan(settings: Settings, target: Target) -> Plan:
    """Everything of the deployment, its SES templates, and the SES identity if it exists.

    SES has no tags, so the templates and the identity are found by name. The templates'
    names are the deployment's own; the identity (say, bookings@ a verified domain) is
    shared by every deployment that sends from it, so it stays while another skybook
    deployment exists in the account and region (or with ``keep_identity``).
    """
    stack = settings.deployment
    steps = sweep_steps(target, stack, [])
    templates: list[Resource] = [SesTemplate(n, "", "", "") for n in _template_names(settings)]
    notes = []
    if not settings.keep_identity:
        others = other_stacks(target, stack)
        if others:
            notes.append(
                f"kept the SES identity {settings.identity}: stack(s) "
                f"{', '.join(sorted(others))} in this account and region may send from it"
            )
        else:
            templates.append(SesIdentity(settings.identity))
    shared = existing(target, stack, templates)
    return Plan(steps=in_deletion_order(steps + shared), known={}, notes=notes)


@_friendly
def destroy(
    settings: Settings, target: Target, *, progress: Progress = stderr_progress, **options: Any
) -> Result:
    """Delete every resource of the stack, and nothing that is not the stack's."""
    the_plan = destroy_plan(settings, target)
    applied = Executor(target, settings.deployment, {}, progress=progress, **options).execute(
        the_plan.steps
    )
    outputs_file = settings.outputs_file
    if outputs_file is not None and describes(outputs_file, settings, target):
        outputs_file.unlink()
    return Result(applied=applied, notes=the_plan.notes)


@_friendly
def outputs(settings: Settings, target: Target) -> dict[str, Any]:
    """The outputs of the deployed stack, read from the stack on the target (and written to
    the outputs file if the settings name one); only the stack name and stage count."""
    result = stack_outputs(target, settings.stack_name, settings.stage)
    if settings.outputs_file is not None:
        write_outputs(settings.outputs_file, result)
    return result


def _template_names(settings: Settings) -> list[str]:
    """The deployment's template names, from the manifest (or the two the functions need,
    without one)."""
    try:
        names = [t.name for t in stack_module.load_templates(settings.functions_dir)]
    except stack_module.ManifestError:
        names = [stack_module.RECEIPT_TEMPLATE, stack_module.REJECTION_TEMPLATE]
    return [settings.template_name(name) for name in names]
