"""A statement in a function's resource policy: lets one AWS service invoke it, for one
source ARN only (a rule, the REST API)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from bootstrap.aws import missing
from bootstrap.models import Observed, Resource, Sub, resolve
from bootstrap.resources import function
from bootstrap.resources.base import Context, Kind
from bootstrap.steps import Delete


@dataclass(frozen=True)
class LambdaPermission(Resource):
    """Lets one AWS service invoke a function, for one source ARN only.

    ``name`` is the statement id in the function's resource policy.
    """

    kind: ClassVar[str] = "LambdaPermission"
    name: str
    function: str
    principal: str
    source_arn: Sub
    action: str = "lambda:InvokeFunction"


@dataclass(frozen=True)
class LambdaPermissionState(Observed):
    principal: str | None
    source_arn: str | None
    action: str | list[str] | None


def _policy(ctx: Context, function_name: str) -> dict[str, Any] | None:
    found = missing(lambda: ctx.client("lambda").get_policy(FunctionName=function_name))
    return None if found is None else dict(json.loads(found["Policy"]))


class LambdaPermissionKind(Kind[LambdaPermission, LambdaPermissionState]):
    model = LambdaPermission
    deletion_rank = 20
    removed_with = "Function"

    def read(self, ctx: Context, r: LambdaPermission) -> LambdaPermissionState | None:
        # Several permissions share a function's policy: read it once per plan.
        policy = ctx.memo(("lambda-policy", r.function), lambda: _policy(ctx, r.function))
        for statement in (policy or {}).get("Statement", []):
            if statement.get("Sid") == r.name:
                principal = statement.get("Principal", {})
                service = principal.get("Service") if isinstance(principal, dict) else principal
                condition = statement.get("Condition", {}).get("ArnLike", {})
                return LambdaPermissionState(
                    principal=service,
                    source_arn=condition.get("AWS:SourceArn"),
                    action=statement.get("Action"),
                )
        return None

    def diff(
        self, r: LambdaPermission, state: LambdaPermissionState, known: Mapping[str, str]
    ) -> list[str]:
        wanted = LambdaPermissionState(
            principal=r.principal,
            source_arn=resolve(r.source_arn, known, strict=False),
            action=r.action,
        )
        return ["source"] if state != wanted else []

    def create(self, ctx: Context, r: LambdaPermission) -> dict[str, str]:
        ctx.client("lambda").add_permission(
            FunctionName=r.function,
            StatementId=r.name,
            Action=r.action,
            Principal=r.principal,
            SourceArn=ctx.value(r.source_arn),
        )
        return {}

    def update(
        self,
        ctx: Context,
        r: LambdaPermission,
        state: LambdaPermissionState,
        changes: tuple[str, ...],
    ) -> None:
        client = ctx.client("lambda")
        missing(lambda: client.remove_permission(FunctionName=r.function, StatementId=r.name))
        self.create(ctx, r)

    def find_owned(self, ctx: Context) -> list[Delete]:
        """Statements we added to our functions' resource policies (Sid ``<stack>-...``)."""
        found = []
        for owner in function.KIND.find_owned(ctx):
            for statement in (_policy(ctx, owner.name) or {}).get("Statement", []):
                sid = statement.get("Sid", "")
                if sid.startswith(ctx.prefix):
                    found.append(Delete(self.name, sid, locator=owner.name))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        client = ctx.client("lambda")
        missing(lambda: client.remove_permission(FunctionName=step.locator, StatementId=step.name))


KIND = LambdaPermissionKind()
