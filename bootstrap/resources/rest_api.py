"""An API Gateway REST API and its routes: which method on which path goes to which function,
and who may call it (no auth, an API key, or IAM). Its stage (the deployment it serves and
the throttling) is :mod:`bootstrap.resources.api_stage`."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bootstrap.aws import missing, paginate
from bootstrap.errors import DeployError
from bootstrap.models import Observed, Resource, Sub, resolve
from bootstrap.resources.base import Context, Kind, Permission, Scope
from bootstrap.steps import Delete

NO_AUTH, IAM_AUTH = "NONE", "AWS_IAM"


@dataclass(frozen=True)
class ApiRoute:
    """One method on a top-level resource, proxied to a Lambda function (AWS_PROXY).

    ``authorization`` is ``NONE`` or ``AWS_IAM`` (callers sign with SigV4 and need
    ``execute-api:Invoke``); ``api_key_required`` makes API Gateway refuse a request without
    a key of a usage plan of the stage (``x-api-key`` header).
    """

    path_part: str
    http_method: str
    function_arn: Sub
    authorization: str = NO_AUTH
    api_key_required: bool = False

    def integration_uri(self) -> Sub:
        return Sub(
            "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            + self.function_arn.template
            + "/invocations"
        )

    def method(self, known: Mapping[str, str]) -> Method:
        """The method this route should be, references resolved as far as ``known`` goes."""
        uri = resolve(self.integration_uri(), known, strict=False)
        return Method(("AWS_PROXY", uri), self.authorization, self.api_key_required)


@dataclass(frozen=True)
class RestApi(Resource):
    """A REST API with its routes (a regional endpoint)."""

    kind: ClassVar[str] = "RestApi"
    name: str
    routes: tuple[ApiRoute, ...]


@dataclass(frozen=True)
class Method:
    """What exists of a method: its integration (type, uri; None: none) and who may call it."""

    integration: tuple[str | None, str | None] | None
    authorization: str | None
    api_key_required: bool


@dataclass(frozen=True)
class RestApiState(Observed):
    id: str
    root: str  # the id of the resource "/"
    resources: Mapping[str, str] = field(default_factory=dict)  # path -> resource id
    routes: Mapping[tuple[str | None, str], Method] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"id": self.id, "root": self.root}


def the_one(
    ctx: Context, found: list[dict[str, Any]], what: str, name: str
) -> dict[str, Any] | None:
    """The one API Gateway resource of that name among ``found`` (ours, by tag): API Gateway
    names are not unique, so two of ours is an error naming the extra ones."""
    named = [item for item in found if item.get("name") == name]
    if len(named) > 1:
        ids = ", ".join(item["id"] for item in named)
        raise DeployError(
            f"several {what}s named {name} belong to stack {ctx.stack} ({ids}): delete the "
            f"extra ones with 'aws apigateway delete-{what.lower().replace(' ', '-')}'"
        )
    return named[0] if named else None


def find_rest_api(ctx: Context, name: str) -> dict[str, Any] | None:
    """Our REST API of that name."""
    gateway = ctx.client("apigateway")
    ours = [api for api in paginate(gateway, "get_rest_apis", "items") if ctx.ours(api.get("tags"))]
    return the_one(ctx, ours, "REST API", name)


def read_method(ctx: Context, api_id: str, resource_id: str, http_method: str) -> Method | None:
    found = missing(
        functools.partial(
            ctx.client("apigateway").get_method,
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=http_method,
        )
    )
    if found is None:
        return None
    integration = found.get("methodIntegration")
    return Method(
        integration=None if not integration else (integration.get("type"), integration.get("uri")),
        authorization=found.get("authorizationType"),
        api_key_required=bool(found.get("apiKeyRequired")),
    )


def apigateway_arn(ctx: Context, path: str) -> str:
    """The ARN API Gateway tags by: ``arn:aws:apigateway:<region>::<path>``."""
    return f"arn:aws:apigateway:{ctx.target.region}::{path}"


def retag_apigateway(ctx: Context, path: str, put: Mapping[str, str], remove: list[str]) -> None:
    """Tags of an API Gateway resource (an API, stage, key or usage plan) by its path."""
    gateway, arn = ctx.client("apigateway"), apigateway_arn(ctx, path)
    if put:
        gateway.tag_resource(resourceArn=arn, tags=dict(put))
    if remove:
        gateway.untag_resource(resourceArn=arn, tagKeys=remove)


def apigateway_permissions(scope: Scope, collection: str, *, why: str) -> list[Permission]:
    """API Gateway's IAM actions are its HTTP verbs on resource paths. Its ids (of APIs,
    keys, plans) are made up on creation, so no name can scope them: every one of the
    ``collection`` (``restapis``, ``apikeys``, ``usageplans``) in the region."""
    base = f"arn:aws:apigateway:{scope.region}::/{collection}"
    return [
        Permission(
            (base, base + "/*"),
            reads=("apigateway:GET",),
            writes=("apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"),
            why=why,
        ),
        Permission(
            (f"arn:aws:apigateway:{scope.region}::/tags/*",),
            writes=("apigateway:PUT", "apigateway:DELETE"),  # TagResource, UntagResource
            why="tags go by the tagged resource's made-up id",
        ),
    ]


class RestApiKind(Kind[RestApi, RestApiState]):
    model = RestApi
    deletion_rank = 40
    taggable = True

    def read(self, ctx: Context, r: RestApi) -> RestApiState | None:
        api = find_rest_api(ctx, r.name)
        if api is None:
            return None
        gateway = ctx.client("apigateway")
        api_id = api["id"]
        resources = list(
            paginate(gateway, "get_resources", "items", restApiId=api_id, embed=["methods"])
        )
        routes: dict[tuple[str | None, str], Method] = {}
        for item in resources:
            for http_method in item.get("resourceMethods", {}) or {}:
                method = read_method(ctx, api_id, item["id"], http_method)
                if method is not None:
                    routes[(item.get("pathPart"), http_method)] = method
        return RestApiState(
            id=api_id,
            root=api.get("rootResourceId", ""),
            resources={i.get("path"): i["id"] for i in resources},
            routes=routes,
            tags=dict(api.get("tags") or {}),
        )

    def diff(self, r: RestApi, state: RestApiState, known: Mapping[str, str]) -> list[str]:
        for route in r.routes:
            if state.routes.get((route.path_part, route.http_method)) != route.method(known):
                return ["routes"]
        return []

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
        return {"id": api["id"], "root": root}

    def update(
        self, ctx: Context, r: RestApi, state: RestApiState, changes: tuple[str, ...]
    ) -> None:
        self._ensure_routes(ctx, r, state)

    def _ensure_routes(self, ctx: Context, r: RestApi, state: RestApiState) -> None:
        """Create or correct each route's method and integration (a stage serves them once
        it is redeployed: :mod:`bootstrap.resources.api_stage`)."""
        gateway = ctx.client("apigateway")
        resources = dict(state.resources)
        for route in r.routes:
            path = f"/{route.path_part}"
            if path not in resources:
                resources[path] = gateway.create_resource(
                    restApiId=state.id, parentId=resources["/"], pathPart=route.path_part
                )["id"]
            where = {
                "restApiId": state.id,
                "resourceId": resources[path],
                "httpMethod": route.http_method,
            }
            wanted: Method = ctx.value(route.method(ctx.known))
            current = state.routes.get((route.path_part, route.http_method))
            if current == wanted:
                continue
            access = (wanted.authorization, wanted.api_key_required)
            if current is not None and (current.authorization, current.api_key_required) != access:
                # Who may call a method is fixed when it is put: put it again.
                gateway.delete_method(**where)
                current = None
            if current is None:
                gateway.put_method(
                    **where,
                    authorizationType=route.authorization,
                    apiKeyRequired=route.api_key_required,
                )
            gateway.put_integration(
                **where,
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=ctx.value(route.integration_uri()),
            )

    def retag(
        self,
        ctx: Context,
        r: RestApi,
        state: RestApiState,
        put: Mapping[str, str],
        remove: list[str],
    ) -> None:
        retag_apigateway(ctx, f"/restapis/{state.id}", put, remove)

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

    def permissions(self, scope: Scope) -> list[Permission]:
        return apigateway_permissions(
            scope, "restapis", why="REST API ids are made up by API Gateway"
        )


KIND = RestApiKind()
