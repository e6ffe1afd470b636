"""An API Gateway REST API: its routes to functions, deployed to one stage."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bootstrap.aws import missing, paginate
from bootstrap.errors import DeployError
from bootstrap.models import Observed, Resource, Sub, resolve
from bootstrap.resources.base import Context, Kind
from bootstrap.steps import Delete


@dataclass(frozen=True)
class ApiRoute:
    """One method on a top-level resource, proxied to a Lambda function (AWS_PROXY)."""

    path_part: str
    http_method: str
    function_arn: Sub

    def integration_uri(self) -> Sub:
        return Sub(
            "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            + self.function_arn.template
            + "/invocations"
        )


@dataclass(frozen=True)
class RestApi(Resource):
    """A REST API with its routes, deployed to one stage (redeployed when routes change)."""

    kind: ClassVar[str] = "RestApi"
    name: str
    stage: str
    routes: tuple[ApiRoute, ...]


Integration = tuple[str | None, str | None]  # (type, uri)


@dataclass(frozen=True)
class RestApiState(Observed):
    id: str
    root: str  # the id of the resource "/"
    resources: Mapping[str, str] = field(default_factory=dict)  # path -> resource id
    # (path part, method) -> its integration; None: a method without one
    routes: Mapping[tuple[str | None, str], Integration | None] = field(default_factory=dict)
    fingerprint: str | None = None  # the description of the stage's deployment

    def attrs(self) -> dict[str, str]:
        return {"id": self.id, "root": self.root}


def find_rest_api(ctx: Context, name: str) -> dict[str, Any] | None:
    """Our REST API of that name: names are not unique in API Gateway, our tag is."""
    gateway = ctx.client("apigateway")
    ours = [
        api
        for api in paginate(gateway, "get_rest_apis", "items")
        if api.get("name") == name and ctx.ours(api.get("tags"))
    ]
    if len(ours) > 1:
        ids = ", ".join(a["id"] for a in ours)
        raise DeployError(
            f"several REST APIs named {name} belong to stack {ctx.stack} ({ids}): delete the "
            "extra ones with 'aws apigateway delete-rest-api'"
        )
    return ours[0] if ours else None


def fingerprint(r: RestApi, known: Mapping[str, str]) -> str:
    """A hash of what the API routes to, kept in the deployment's description: a changed
    hash means the stage serves an outdated deployment."""
    shape = [
        (route.path_part, route.http_method, resolve(route.integration_uri(), known, strict=False))
        for route in r.routes
    ]
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
    return f"skybook:{digest}"


class RestApiKind(Kind[RestApi, RestApiState]):
    model = RestApi
    deletion_rank = 40

    def read(self, ctx: Context, r: RestApi) -> RestApiState | None:
        api = find_rest_api(ctx, r.name)
        if api is None:
            return None
        gateway = ctx.client("apigateway")
        api_id = api["id"]
        resources = list(
            paginate(gateway, "get_resources", "items", restApiId=api_id, embed=["methods"])
        )
        routes: dict[tuple[str | None, str], Integration | None] = {}
        for item in resources:
            for method in item.get("resourceMethods", {}) or {}:
                integration = missing(
                    functools.partial(
                        gateway.get_integration,
                        restApiId=api_id,
                        resourceId=item["id"],
                        httpMethod=method,
                    )
                )
                routes[(item.get("pathPart"), method)] = (
                    None
                    if integration is None
                    else (integration.get("type"), integration.get("uri"))
                )
        stage = missing(lambda: gateway.get_stage(restApiId=api_id, stageName=r.stage))
        deployed = None
        if stage is not None and stage.get("deploymentId"):
            deployment = missing(
                lambda: gateway.get_deployment(restApiId=api_id, deploymentId=stage["deploymentId"])
            )
            deployed = (deployment or {}).get("description")
        return RestApiState(
            id=api_id,
            root=api.get("rootResourceId", ""),
            resources={i.get("path"): i["id"] for i in resources},
            routes=routes,
            fingerprint=deployed,
        )

    def diff(self, r: RestApi, state: RestApiState, known: Mapping[str, str]) -> list[str]:
        found = []
        for route in r.routes:
            integration = state.routes.get((route.path_part, route.http_method))
            if integration != ("AWS_PROXY", resolve(route.integration_uri(), known, strict=False)):
                found.append("routes")
                break
        if state.fingerprint != fingerprint(r, known):
            found.append("deployment")
        return found

    def create(self, ctx: Context, r: RestApi) -> dict[str, str]:
        gateway = ctx.client("apigateway")
        api = gateway.create_rest_api(
            name=r.name,
            description=f"skybook stack {ctx.stack}",
            endpointConfiguration={"types": ["REGIONAL"]},
            tags=ctx.tag_map(),
        )
        ctx.known[f"{r.name}.id"] = api["id"]
        root = api.get("rootResourceId") or next(
            item["id"]
            for item in paginate(gateway, "get_resources", "items", restApiId=api["id"])
            if item.get("path") == "/"
        )
        self._ensure_routes(ctx, r, RestApiState(id=api["id"], root=root, resources={"/": root}))
        self._deploy(ctx, r, api["id"])
        return {"id": api["id"]}

    def update(
        self, ctx: Context, r: RestApi, state: RestApiState, changes: tuple[str, ...]
    ) -> None:
        if "routes" in changes:
            self._ensure_routes(ctx, r, state)
        self._deploy(ctx, r, state.id)

    def _ensure_routes(self, ctx: Context, r: RestApi, state: RestApiState) -> None:
        gateway = ctx.client("apigateway")
        resources = dict(state.resources)
        for route in r.routes:
            path = f"/{route.path_part}"
            if path not in resources:
                resources[path] = gateway.create_resource(
                    restApiId=state.id, parentId=resources["/"], pathPart=route.path_part
                )["id"]
            resource_id = resources[path]
            uri = ctx.value(route.integration_uri())
            key = (route.path_part, route.http_method)
            if state.routes.get(key) == ("AWS_PROXY", uri):
                continue
            if key not in state.routes:
                gateway.put_method(
                    restApiId=state.id,
                    resourceId=resource_id,
                    httpMethod=route.http_method,
                    authorizationType="NONE",
                )
            gateway.put_integration(
                restApiId=state.id,
                resourceId=resource_id,
                httpMethod=route.http_method,
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=uri,
            )

    def _deploy(self, ctx: Context, r: RestApi, api_id: str) -> None:
        ctx.client("apigateway").create_deployment(
            restApiId=api_id, stageName=r.stage, description=ctx.value(fingerprint(r, ctx.known))
        )

    def find_owned(self, ctx: Context) -> list[Delete]:
        """Our REST APIs; the locator is the API's id."""
        gateway = ctx.client("apigateway")
        return [
            Delete(self.name, api["name"], locator=api["id"])
            for api in paginate(gateway, "get_rest_apis", "items")
            if api.get("name", "").startswith(ctx.prefix) and ctx.ours(api.get("tags"))
        ]

    def delete(self, ctx: Context, step: Delete) -> None:
        gateway = ctx.client("apigateway")
        missing(lambda: gateway.delete_rest_api(restApiId=step.locator))


KIND = RestApiKind()
