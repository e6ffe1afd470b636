"""The least-privilege IAM policy of a role that plans, applies and destroys one stack (every
stage of it) in one account and region: ``python -m bootstrap policy [--json] [--plan-only]``.

Each kind of resource lists the actions its own calls need (:meth:`Kind.permissions`), so
the policy grows with the stack; ``tests/unit/bootstrap/test_policy.py`` records every call
of a plan, an apply, a no-op apply, an update and a destroy on moto and checks each against
this policy, and lints it with parliament. Resources are the stack's names (``<stack>-*``)
wherever IAM can scope the action; the ``*`` ones say why they cannot be narrower.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping
from typing import Any

from bootstrap.resources import KINDS
from bootstrap.resources.base import Permission, Scope
from bootstrap.target import Target

GLOBAL_SERVICES = ("iam",)  # no region: aws:RequestedRegion does not apply to them


def permissions(scope: Scope) -> list[Permission]:
    return [p for kind in sorted(KINDS) for p in KINDS[kind].permissions(scope)]


def _region_bound(permission: Permission, scope: Scope) -> Mapping[str, Any] | None:
    """A ``*`` statement of regional services, held to the stack's region."""
    if permission.resources != ("*",):
        return permission.condition
    services = {action.split(":")[0] for action in permission.reads + permission.writes}
    if services & set(GLOBAL_SERVICES):
        return permission.condition
    return {"StringEquals": {"aws:RequestedRegion": scope.region}}


def _sid(resources: tuple[str, ...], condition: Mapping[str, Any] | None) -> str:
    """A readable statement id: the service and the kind of resource (``LambdaFunction``)."""
    if resources == ("*",):
        return "RegionWide" if condition else "Global"
    arn = resources[0].split(":")
    service, kind = arn[2], re.split(r"[:/]", ":".join(arn[5:]).lstrip("/"))[0]
    if "*" in kind:  # SQS ARNs name the queue right after the account
        kind = "queue"
    words = [service, *kind.split("-"), *(["PassedToLambda"] if condition else [])]
    return "".join(word[:1].upper() + word[1:] for word in words)


def statements(scope: Scope, *, plan_only: bool = False) -> list[dict[str, Any]]:
    """The policy's statements: the kinds' permissions, actions merged per resources."""
    merged: dict[tuple[tuple[str, ...], str], set[str]] = {}
    conditions: dict[str, Mapping[str, Any] | None] = {}
    for permission in permissions(scope):
        actions = permission.reads if plan_only else permission.reads + permission.writes
        if not actions:
            continue
        condition = _region_bound(permission, scope)
        text = json.dumps(condition, sort_keys=True)
        conditions[text] = condition
        key = (permission.resources, text)
        merged.setdefault(key, set()).update(actions)
    found = []
    for (resources, text), granted in sorted(merged.items()):
        statement: dict[str, Any] = {
            "Sid": _sid(resources, conditions[text]),
            "Effect": "Allow",
            "Action": sorted(granted),
            "Resource": list(resources) if len(resources) > 1 else resources[0],
        }
        if conditions[text]:
            statement["Condition"] = conditions[text]
        found.append(statement)
    return found


def why(scope: Scope) -> dict[str, list[str]]:
    """For each ``*`` or made-up-id resource, why nothing narrower works."""
    found: dict[str, set[str]] = {}
    for permission in permissions(scope):
        if permission.why:
            for resource in permission.resources:
                found.setdefault(resource, set()).add(permission.why)
    return {resource: sorted(reasons) for resource, reasons in sorted(found.items())}


def document(scope: Scope, *, plan_only: bool = False) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements(scope, plan_only=plan_only)}


def add_parser(commands: Any, where: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "policy",
        parents=[where],
        help="print the IAM policy a CI role needs to plan, apply and destroy the stack",
        description="The least-privilege IAM policy of a role that runs plan, apply and "
        "destroy for every stage of one stack, in one account and region.",
    )
    p.add_argument("--stack-name", metavar="N", default="skybook")
    p.add_argument(
        "--account", metavar="ID", help="the account's id (default: the target's, asked of STS)"
    )
    p.add_argument(
        "--plan-only",
        action="store_true",
        help="only what plan needs (reads): for a role that pull requests may use",
    )
    p.add_argument("--json", action="store_true", help="only the policy document, as JSON")


def run(args: argparse.Namespace, target: Target) -> int:
    scope = Scope(
        account=args.account or target.account, region=target.region, stack=args.stack_name
    )
    doc = document(scope, plan_only=args.plan_only)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    what = "plan" if args.plan_only else "plan, apply and destroy"
    print(
        f"# IAM policy to {what} stack {scope.stack} (every stage: names {scope.names}) in "
        f"account {scope.account}, region {scope.region}."
    )
    for resource, reasons in why(scope).items():
        for reason in reasons:
            print(f"# {resource}: {reason}")
    print(
        "# Attach it: python -m bootstrap policy --json > policy.json; aws iam put-role-policy "
        "--role-name ROLE --policy-name skybook-deploy --policy-document file://policy.json"
    )
    print(json.dumps(doc, indent=2))
    return 0
