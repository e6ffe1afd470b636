"""An API Gateway API key: with ``--api-auth api-key`` the API refuses requests without it
(header ``x-api-key``); a usage plan (:mod:`bootstrap.resources.usage_plan`) ties it to the
stage with its own throttling and daily quota. Its value is a secret: the deployer never
prints or stores it (``aws apigateway get-api-key --api-key <id> --include-value``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bootstrap.aws import missing, paginate
from bootstrap.models import Observed, Resource
from bootstrap.resources import rest_api
from bootstrap.resources.base import Context, Kind, Permission, Scope
from bootstrap.steps import Delete


@dataclass(frozen=True)
class ApiKey(Resource):
    kind: ClassVar[str] = "ApiKey"
    name: str


@dataclass(frozen=True)
class ApiKeyState(Observed):
    id: str
    enabled: bool
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"id": self.id}


def _ours(ctx: Context) -> list[dict[str, Any]]:
    """Our API keys (values not included)."""
    gateway = ctx.client("apigateway")
    return [
        key
        for key in paginate(gateway, "get_api_keys", "items", nameQuery=ctx.prefix)
        if key.get("name", "").startswith(ctx.prefix) and ctx.ours(key.get("tags"))
    ]


def find_api_key(ctx: Context, name: str) -> dict[str, Any] | None:
    return rest_api.the_one(ctx, _ours(ctx), "API key", name)


class ApiKeyKind(Kind[ApiKey, ApiKeyState]):
    model = ApiKey
    deletion_rank = 36  # after the usage plan that hands it out
    taggable = True

    def read(self, ctx: Context, r: ApiKey) -> ApiKeyState | None:
        key = find_api_key(ctx, r.name)
        if key is None:
            return None
        return ApiKeyState(
            id=key["id"], enabled=bool(key.get("enabled")), tags=dict(key.get("tags") or {})
        )

    def diff(self, r: ApiKey, state: ApiKeyState, known: Mapping[str, str]) -> list[str]:
        return [] if state.enabled else ["enabled"]

    def create(self, ctx: Context, r: ApiKey) -> dict[str, str]:
        key = ctx.client("apigateway").create_api_key(
            name=r.name,
            description=f"skybook stack {ctx.stack}: callers of the API send it as x-api-key",
            enabled=True,
            tags=ctx.tag_map(),
        )
        return {"id": key["id"]}

    def update(self, ctx: Context, r: ApiKey, state: ApiKeyState, changes: tuple[str, ...]) -> None:
        ctx.client("apigateway").update_api_key(
            apiKey=state.id,
            patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}],
        )

    def retag(
        self,
        ctx: Context,
        r: ApiKey,
        state: ApiKeyState,
        put: Mapping[str, str],
        remove: list[str],
    ) -> None:
        rest_api.retag_apigateway(ctx, f"/apikeys/{state.id}", put, remove)

    def find_owned(self, ctx: Context) -> list[Delete]:
        return [Delete(self.name, key["name"], locator=key["id"]) for key in _ours(ctx)]

    def delete(self, ctx: Context, step: Delete) -> None:
        gateway = ctx.client("apigateway")
        missing(lambda: gateway.delete_api_key(apiKey=step.locator))

    def permissions(self, scope: Scope) -> list[Permission]:
        return rest_api.apigateway_permissions(
            scope, "apikeys", why="API key ids are made up by API Gateway"
        )


KIND = ApiKeyKind()
