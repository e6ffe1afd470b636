"""An API Gateway stage: the deployment of a REST API's routes that callers reach, and how
many requests a second it admits (throttling, for every method of the stage).

The stage is redeployed when what the routes go to (or who may call them) changed: a hash of
the routes is kept in the deployment's description, so plan sees an outdated stage without
local state. A redeployment moves the stage to a new deployment (UpdateStage), which keeps
its settings; CreateDeployment with the stage's name would reset them on moto and LocalStack.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bootstrap.aws import missing
from bootstrap.models import Observed, Resource, Throttle, resolve
from bootstrap.resources import rest_api
from bootstrap.resources.base import Context, Kind, Permission, Scope, changed
from bootstrap.resources.rest_api import ApiRoute

ALL_METHODS = "*/*"  # the stage-wide method settings


@dataclass(frozen=True)
class ApiStage(Resource):
    """The stage ``stage`` of the REST API ``api``, serving a deployment of ``routes``
    (those of the API) and throttled to ``throttle`` (None: only the account's limits).
    ``name`` is ``<api>/<stage>``."""

    kind: ClassVar[str] = "ApiStage"
    name: str
    api: str
    stage: str
    routes: tuple[ApiRoute, ...]
    throttle: Throttle | None = None


@dataclass(frozen=True)
class ApiStageState(Observed):
    api_id: str
    fingerprint: str | None  # the description of the deployment the stage serves
    throttle: Throttle | None
    tags: Mapping[str, str] = field(default_factory=dict)


def stage_name(api: str, stage: str) -> str:
    return f"{api}/{stage}"


def fingerprint(r: ApiStage, known: Mapping[str, str]) -> str:
    """A hash of what the routes go to and who may call them: when it differs from the
    deployment's description, the stage serves an outdated deployment."""
    shape = [
        (route.path_part, route.http_method, resolve(route.integration_uri(), known, strict=False))
        + ((route.authorization, route.api_key_required) if _guarded(route) else ())
        for route in r.routes
    ]
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
    return f"skybook:{digest}"


def _guarded(route: ApiRoute) -> bool:
    # An open route hashes as before auth existed, so stacks deployed then are not redeployed.
    return route.authorization != rest_api.NO_AUTH or route.api_key_required


def _throttle(stage: Mapping[str, Any]) -> Throttle | None:
    settings = (stage.get("methodSettings") or {}).get(ALL_METHODS) or {}
    rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
    if rate is None or burst is None:
        return None
    return Throttle(rate=float(rate), burst=int(burst))


def _throttle_operations(throttle: Throttle | None) -> list[dict[str, str]]:
    if throttle is None:  # back to the account's limits
        return [{"op": "remove", "path": f"/{ALL_METHODS}"}]
    return [
        {
            "op": "replace",
            "path": f"/{ALL_METHODS}/throttling/rateLimit",
            "value": f"{throttle.rate:g}",
        },
        {
            "op": "replace",
            "path": f"/{ALL_METHODS}/throttling/burstLimit",
            "value": str(throttle.burst),
        },
    ]


class ApiStageKind(Kind[ApiStage, ApiStageState]):
    model = ApiStage
    deletion_rank = 38  # never found by a sweep (no find_owned): it goes with its API
    taggable = True

    def read(self, ctx: Context, r: ApiStage) -> ApiStageState | None:
        api_id = ctx.known.get(f"{r.api}.id")
        if api_id is None:  # no API yet, so no stage
            return None
        gateway = ctx.client("apigateway")
        stage = missing(lambda: gateway.get_stage(restApiId=api_id, stageName=r.stage))
        if stage is None:
            return None
        deployed = None
        if stage.get("deploymentId"):
            deployment = missing(
                lambda: gateway.get_deployment(restApiId=api_id, deploymentId=stage["deploymentId"])
            )
            deployed = (deployment or {}).get("description")
        return ApiStageState(
            api_id=api_id,
            fingerprint=deployed,
            throttle=_throttle(stage),
            tags=dict(stage.get("tags") or {}),
        )

    def diff(self, r: ApiStage, state: ApiStageState, known: Mapping[str, str]) -> list[str]:
        return changed(
            deployment=state.fingerprint != fingerprint(r, known),
            throttle=state.throttle != r.throttle,
        )

    def create(self, ctx: Context, r: ApiStage) -> dict[str, str]:
        gateway = ctx.client("apigateway")
        api_id = ctx.value(ctx.known[f"{r.api}.id"])
        deployment = gateway.create_deployment(
            restApiId=api_id, description=ctx.value(fingerprint(r, ctx.known))
        )
        gateway.create_stage(
            restApiId=api_id,
            stageName=r.stage,
            deploymentId=deployment["id"],
            tags=ctx.tag_map(),
        )
        if r.throttle is not None:
            gateway.update_stage(
                restApiId=api_id,
                stageName=r.stage,
                patchOperations=_throttle_operations(r.throttle),
            )
        return {}

    def update(
        self, ctx: Context, r: ApiStage, state: ApiStageState, changes: tuple[str, ...]
    ) -> None:
        gateway = ctx.client("apigateway")
        operations = []
        if "deployment" in changes:
            deployment = gateway.create_deployment(
                restApiId=state.api_id, description=ctx.value(fingerprint(r, ctx.known))
            )
            operations.append({"op": "replace", "path": "/deploymentId", "value": deployment["id"]})
        if "throttle" in changes:
            operations += _throttle_operations(r.throttle)
        gateway.update_stage(restApiId=state.api_id, stageName=r.stage, patchOperations=operations)

    def retag(
        self,
        ctx: Context,
        r: ApiStage,
        state: ApiStageState,
        put: Mapping[str, str],
        remove: list[str],
    ) -> None:
        rest_api.retag_apigateway(ctx, f"/restapis/{state.api_id}/stages/{r.stage}", put, remove)

    def permissions(self, scope: Scope) -> list[Permission]:
        return rest_api.KIND.permissions(scope)  # stages are paths under /restapis


KIND = ApiStageKind()
