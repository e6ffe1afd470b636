"""An API Gateway usage plan: which API stage the stack's API key may call, how fast (its own
throttling, at most the stage's) and how often (a daily quota). Without one, API Gateway
accepts no key at all for a method that requires one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bootstrap.aws import missing, paginate
from bootstrap.models import Observed, Resource, Sub, Throttle, resolve
from bootstrap.resources import rest_api
from bootstrap.resources.base import Context, Kind, Permission, Scope, changed
from bootstrap.steps import Delete


@dataclass(frozen=True)
class UsagePlan(Resource):
    """The plan of the API key ``key`` (its id) on stage ``stage`` of REST API ``api``."""

    kind: ClassVar[str] = "UsagePlan"
    name: str
    api: str  # the RestApi's name
    stage: str
    key: Sub
    quota_per_day: int
    throttle: Throttle | None = None


@dataclass(frozen=True)
class Limits:
    throttle: Throttle | None
    quota_per_day: int | None


@dataclass(frozen=True)
class UsagePlanState(Observed):
    id: str
    stages: frozenset[str]  # "<api id>:<stage>"
    limits: Limits
    keys: frozenset[str]  # API key ids
    tags: Mapping[str, str] = field(default_factory=dict)


def _ours(ctx: Context) -> list[dict[str, Any]]:
    gateway = ctx.client("apigateway")
    return [
        plan
        for plan in paginate(gateway, "get_usage_plans", "items")
        if plan.get("name", "").startswith(ctx.prefix) and ctx.ours(plan.get("tags"))
    ]


def _limits(plan: Mapping[str, Any]) -> Limits:
    throttle, quota = plan.get("throttle") or {}, plan.get("quota") or {}
    return Limits(
        throttle=(
            Throttle(float(throttle["rateLimit"]), int(throttle["burstLimit"]))
            if "rateLimit" in throttle and "burstLimit" in throttle
            else None
        ),
        quota_per_day=int(quota["limit"]) if quota.get("period") == "DAY" else None,
    )


def _stage(ctx: Context, r: UsagePlan) -> str:
    return f"{ctx.value(ctx.known[f'{r.api}.id'])}:{r.stage}"


class UsagePlanKind(Kind[UsagePlan, UsagePlanState]):
    model = UsagePlan
    deletion_rank = 34  # before its key, and before the API whose stage it names
    taggable = True

    def read(self, ctx: Context, r: UsagePlan) -> UsagePlanState | None:
        plan = rest_api.the_one(ctx, _ours(ctx), "usage plan", r.name)
        if plan is None:
            return None
        keys = paginate(
            ctx.client("apigateway"), "get_usage_plan_keys", "items", usagePlanId=plan["id"]
        )
        return UsagePlanState(
            id=plan["id"],
            stages=frozenset(f"{s['apiId']}:{s['stage']}" for s in plan.get("apiStages") or []),
            limits=_limits(plan),
            keys=frozenset(key["id"] for key in keys),
            tags=dict(plan.get("tags") or {}),
        )

    def diff(self, r: UsagePlan, state: UsagePlanState, known: Mapping[str, str]) -> list[str]:
        api_id = known.get(f"{r.api}.id", f"${{{r.api}.id}}")
        return changed(
            stage=state.stages != {f"{api_id}:{r.stage}"},
            limits=state.limits != Limits(r.throttle, r.quota_per_day),
            key=state.keys != {resolve(r.key, known, strict=False)},
        )

    def create(self, ctx: Context, r: UsagePlan) -> dict[str, str]:
        gateway = ctx.client("apigateway")
        api_id, stage = _stage(ctx, r).split(":")
        params: dict[str, Any] = {
            "name": r.name,
            "description": f"skybook stack {ctx.stack}: who may call the API, how often",
            "apiStages": [{"apiId": api_id, "stage": stage}],
            "quota": {"limit": r.quota_per_day, "period": "DAY"},
            "tags": ctx.tag_map(),
        }
        if r.throttle is not None:
            params["throttle"] = {"rateLimit": r.throttle.rate, "burstLimit": r.throttle.burst}
        plan = gateway.create_usage_plan(**params)
        gateway.create_usage_plan_key(
            usagePlanId=plan["id"], keyId=ctx.value(r.key), keyType="API_KEY"
        )
        return {"id": plan["id"]}

    def update(
        self, ctx: Context, r: UsagePlan, state: UsagePlanState, changes: tuple[str, ...]
    ) -> None:
        gateway = ctx.client("apigateway")
        operations: list[dict[str, str]] = []
        if "stage" in changes:
            wanted = _stage(ctx, r)
            operations += [
                {"op": "remove", "path": "/apiStages", "value": s}
                for s in sorted(state.stages - {wanted})
            ]
            if wanted not in state.stages:
                operations.append({"op": "add", "path": "/apiStages", "value": wanted})
        if "limits" in changes:
            operations.append(
                {"op": "replace", "path": "/quota/limit", "value": str(r.quota_per_day)}
            )
            operations.append({"op": "replace", "path": "/quota/period", "value": "DAY"})
            if r.throttle is not None:
                operations += [
                    {
                        "op": "replace",
                        "path": "/throttle/rateLimit",
                        "value": f"{r.throttle.rate:g}",
                    },
                    {
                        "op": "replace",
                        "path": "/throttle/burstLimit",
                        "value": str(r.throttle.burst),
                    },
                ]
            elif state.limits.throttle is not None:
                operations.append({"op": "remove", "path": "/throttle"})
        if operations:
            gateway.update_usage_plan(usagePlanId=state.id, patchOperations=operations)
        if "key" in changes:
            key = ctx.value(r.key)
            for stale in sorted(state.keys - {key}):
                gateway.delete_usage_plan_key(usagePlanId=state.id, keyId=stale)
            if key not in state.keys:
                gateway.create_usage_plan_key(usagePlanId=state.id, keyId=key, keyType="API_KEY")

    def retag(
        self,
        ctx: Context,
        r: UsagePlan,
        state: UsagePlanState,
        put: Mapping[str, str],
        remove: list[str],
    ) -> None:
        rest_api.retag_apigateway(ctx, f"/usageplans/{state.id}", put, remove)

    def find_owned(self, ctx: Context) -> list[Delete]:
        return [Delete(self.name, plan["name"], locator=plan["id"]) for plan in _ours(ctx)]

    def delete(self, ctx: Context, step: Delete) -> None:
        """Detach its stages first: API Gateway deletes no plan that still names one."""
        gateway = ctx.client("apigateway")
        plan = missing(lambda: gateway.get_usage_plan(usagePlanId=step.locator))
        if plan is None:
            return
        stages = [f"{s['apiId']}:{s['stage']}" for s in plan.get("apiStages") or []]
        if stages:
            gateway.update_usage_plan(
                usagePlanId=step.locator,
                patchOperations=[
                    {"op": "remove", "path": "/apiStages", "value": s} for s in stages
                ],
            )
        missing(lambda: gateway.delete_usage_plan(usagePlanId=step.locator))

    def permissions(self, scope: Scope) -> list[Permission]:
        return rest_api.apigateway_permissions(
            scope, "usageplans", why="usage plan ids are made up by API Gateway"
        )


KIND = UsagePlanKind()
