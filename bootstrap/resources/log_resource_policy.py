"""A CloudWatch Logs resource policy: lets EventBridge write the event log on AWS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from bootstrap.aws import missing, normalize_policy
from bootstrap.models import Observed, Resource, Statement, policy_document, resolve
from bootstrap.resources.base import Context, Kind
from bootstrap.steps import Delete


@dataclass(frozen=True)
class LogResourcePolicy(Resource):
    """An account-level CloudWatch Logs resource policy (lets EventBridge write logs)."""

    kind: ClassVar[str] = "LogResourcePolicy"
    name: str
    statements: tuple[Statement, ...] = ()


@dataclass(frozen=True)
class LogResourcePolicyState(Observed):
    policy: str  # the policy's JSON text


def _policies(ctx: Context) -> list[dict[str, str]]:
    policies: list[dict[str, str]] = (
        ctx.client("logs").describe_resource_policies().get("resourcePolicies", [])
    )
    return policies


class LogResourcePolicyKind(Kind[LogResourcePolicy, LogResourcePolicyState]):
    model = LogResourcePolicy
    deletion_rank = 70

    def read(self, ctx: Context, r: LogResourcePolicy) -> LogResourcePolicyState | None:
        for policy in _policies(ctx):
            if policy["policyName"] == r.name:
                return LogResourcePolicyState(policy=policy["policyDocument"])
        return None

    def diff(
        self, r: LogResourcePolicy, state: LogResourcePolicyState, known: Mapping[str, str]
    ) -> list[str]:
        wanted = resolve(policy_document(r.statements), known, strict=False)
        return ["policy"] if normalize_policy(state.policy) != normalize_policy(wanted) else []

    def create(self, ctx: Context, r: LogResourcePolicy) -> dict[str, str]:
        ctx.client("logs").put_resource_policy(
            policyName=r.name, policyDocument=ctx.policy_json(r.statements)
        )
        return {}

    def update(
        self,
        ctx: Context,
        r: LogResourcePolicy,
        state: LogResourcePolicyState,
        changes: tuple[str, ...],
    ) -> None:
        self.create(ctx, r)  # Put replaces the whole policy

    def find_owned(self, ctx: Context) -> list[Delete]:
        # No tags on resource policies: only the exact name this stack gives it counts.
        name = f"{ctx.prefix}events-to-logs"
        return [
            Delete(self.name, p["policyName"]) for p in _policies(ctx) if p["policyName"] == name
        ]

    def delete(self, ctx: Context, step: Delete) -> None:
        logs = ctx.client("logs")
        missing(lambda: logs.delete_resource_policy(policyName=step.name))


KIND = LogResourcePolicyKind()
