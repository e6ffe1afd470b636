"""Compare the desired stack with what the account holds, and say what has to change.

Reading is done with describe/get/list calls only, so ``plan`` is always safe to run.
The planner keeps no local state: everything it needs (code hashes, a fingerprint of the
deployed API) is read back from the resources themselves, each by its kind.
"""

from __future__ import annotations

from bootstrap.models import Observed, Resource
from bootstrap.resources import kind_of
from bootstrap.resources.base import Context
from bootstrap.steps import Create, NoChange, Plan, Step, Update
from bootstrap.target import Target


def base_known(target: Target) -> dict[str, str]:
    return {"AWS::AccountId": target.account, "AWS::Region": target.region}


def plan_desired(target: Target, stack: str, resources: list[Resource]) -> Plan:
    """Create, update or no-change steps for the desired resources, in their order."""
    known = base_known(target)
    for r in resources:
        for attr, value in r.predicted(target.account, target.region).items():
            known[f"{r.name}.{attr}"] = value
    ctx = Context(target, stack, known)
    # Keyed by kind too: a function and its event invoke config share the function's name.
    observed: dict[tuple[str, str], Observed | None] = {}
    for r in resources:
        current = kind_of(r.kind).read(ctx, r)
        observed[(r.kind, r.name)] = current
        if current is not None:
            for attr, value in current.attrs().items():
                known[f"{r.name}.{attr}"] = value
    steps: list[Step] = []
    for r in resources:
        current = observed[(r.kind, r.name)]
        if current is None:
            steps.append(Create(r.kind, r.name, resource=r))
            continue
        diff = kind_of(r.kind).diff(r, current, known)
        if diff:
            steps.append(Update(r.kind, r.name, resource=r, changes=tuple(diff), current=current))
        else:
            steps.append(NoChange(r.kind, r.name, resource=r))
    return Plan(steps=steps, known=known)
