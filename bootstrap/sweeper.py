"""Find the resources of a stack that should no longer exist, as Delete steps.

A resource is ours only when its name starts with ``<stack>-`` *and* it carries the tag
``skybook:stack=<stack>`` (where the service has tags): a colleague's ``skybook-foreign``
function, or the resources of a stack called ``skybook-dev``, match the prefix but not
the tag, and survive. ``destroy`` is a sweep with nothing desired, plus the untagged
resources every stack shares, by name (:func:`existing`).
"""

from __future__ import annotations

from bootstrap.aws import paginate, tags_as_map
from bootstrap.models import TAG_KEY, Resource
from bootstrap.resources import deletion_order, kind_of
from bootstrap.resources.base import Context
from bootstrap.steps import Delete, Step
from bootstrap.target import Target


def find_all(target: Target, stack: str) -> list[Delete]:
    """Every resource of the stack that exists, as Delete steps in deletion order."""
    ctx = Context(target, stack)
    return [step for kind in deletion_order() for step in kind.find_owned(ctx)]


def sweep_steps(target: Target, stack: str, desired: list[Resource]) -> list[Step]:
    """Delete steps for what exists of the stack but is not in ``desired``.

    Untagged kinds (the SES identity and templates) are never found: only a destroy
    removes them, by name.
    """
    wanted = {(r.kind, r.name) for r in desired}
    steps: list[Step] = []
    for step in find_all(target, stack):
        if (step.kind, step.name) in wanted:
            continue
        parent = kind_of(step.kind).removed_with
        if parent is not None and (parent, step.locator) not in wanted:
            continue  # goes away with its function
        steps.append(step)
    return steps


def existing(target: Target, stack: str, resources: list[Resource]) -> list[Step]:
    """Delete steps for those of ``resources`` that exist, found by name."""
    ctx = Context(target, stack)
    return [Delete(r.kind, r.name) for r in resources if kind_of(r.kind).read(ctx, r) is not None]


def in_deletion_order(steps: list[Step]) -> list[Step]:
    return sorted(steps, key=lambda step: kind_of(step.kind).deletion_rank)


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
