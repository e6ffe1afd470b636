"""A Lambda function: code (a deterministic zip), role, handler, runtime and environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bootstrap.aws import missing, paginate
from bootstrap.errors import DeployError
from bootstrap.models import Observed, Resource, Sub, resolve
from bootstrap.resources.base import Context, Kind, Permission, Scope, changed, list_call
from bootstrap.steps import Delete


@dataclass(frozen=True)
class Code:
    """A deployment package: the zip bytes and their sha256 as Lambda reports it."""

    zip_bytes: bytes = field(repr=False)
    sha256: str  # base64 of the sha256 digest, like Lambda's CodeSha256
    source: str = ""  # where it came from, for messages


@dataclass(frozen=True)
class Function(Resource):
    kind: ClassVar[str] = "Function"
    name: str
    role: Sub
    code: Code
    handler: str = "app.handler"
    runtime: str = "python3.13"
    timeout: int = 10
    memory: int = 256
    environment: Mapping[str, str | Sub] = field(default_factory=dict)

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:lambda:{region}:{account}:function:{self.name}"}


@dataclass(frozen=True)
class FunctionConfig:
    """The settings CreateFunction and UpdateFunctionConfiguration share."""

    role: str | None
    handler: str | None
    runtime: str | None
    timeout: int | None
    memory: int | None
    environment: Mapping[str, str]

    def params(self, name: str) -> dict[str, Any]:
        return {
            "FunctionName": name,
            "Role": self.role,
            "Handler": self.handler,
            "Runtime": self.runtime,
            "Timeout": self.timeout,
            "MemorySize": self.memory,
            "Environment": {"Variables": dict(self.environment)},
        }


@dataclass(frozen=True)
class FunctionState(Observed):
    arn: str
    sha256: str | None
    config: FunctionConfig
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn}


def read_function(ctx: Context, name: str) -> FunctionState | None:
    found = missing(lambda: ctx.client("lambda").get_function(FunctionName=name))
    if found is None:
        return None
    config = found["Configuration"]
    return FunctionState(
        arn=config["FunctionArn"],
        sha256=config.get("CodeSha256"),
        config=FunctionConfig(
            role=config.get("Role"),
            handler=config.get("Handler"),
            runtime=config.get("Runtime"),
            timeout=config.get("Timeout"),
            memory=config.get("MemorySize"),
            environment=dict(config.get("Environment", {}).get("Variables") or {}),
        ),
        tags=dict(found.get("Tags") or {}),
    )


def desired_config(r: Function, known: Mapping[str, str]) -> FunctionConfig:
    return FunctionConfig(
        role=resolve(r.role, known, strict=False),
        handler=r.handler,
        runtime=r.runtime,
        timeout=r.timeout,
        memory=r.memory,
        environment=resolve(dict(r.environment), known, strict=False),
    )


class FunctionKind(Kind[Function, FunctionState]):
    model = Function
    deletion_rank = 50
    taggable = True

    def read(self, ctx: Context, r: Function) -> FunctionState | None:
        return read_function(ctx, r.name)

    def diff(self, r: Function, state: FunctionState, known: Mapping[str, str]) -> list[str]:
        return changed(
            code=state.sha256 != r.code.sha256, config=state.config != desired_config(r, known)
        )

    def create(self, ctx: Context, r: Function) -> dict[str, str]:
        config: FunctionConfig = ctx.value(desired_config(r, ctx.known))
        client = ctx.client("lambda")
        created = ctx.await_iam(
            lambda: client.create_function(
                **config.params(r.name),
                Code={"ZipFile": r.code.zip_bytes},
                Tags=ctx.tag_map(),
            ),
            # A new IAM role takes a few seconds to be usable by Lambda on AWS.
            lambda message: "cannot be assumed" in message,
            f"function {r.name}: Lambda still cannot assume {config.role}",
            "the role's trust policy is wrong",
        )
        self._wait(ctx, r.name, "function_active_v2")
        return {"arn": created["FunctionArn"]}

    def update(
        self, ctx: Context, r: Function, state: FunctionState, changes: tuple[str, ...]
    ) -> None:
        client = ctx.client("lambda")
        if "code" in changes:
            client.update_function_code(FunctionName=r.name, ZipFile=r.code.zip_bytes)
            self._wait(ctx, r.name, "function_updated_v2")
        if "config" in changes:
            config: FunctionConfig = ctx.value(desired_config(r, ctx.known))
            client.update_function_configuration(**config.params(r.name))
            self._wait(ctx, r.name, "function_updated_v2")

    def retag(
        self,
        ctx: Context,
        r: Function,
        state: FunctionState,
        put: Mapping[str, str],
        remove: list[str],
    ) -> None:
        client = ctx.client("lambda")
        if put:
            client.tag_resource(Resource=state.arn, Tags=dict(put))
        if remove:
            client.untag_resource(Resource=state.arn, TagKeys=remove)

    def _wait(self, ctx: Context, name: str, waiter: str) -> None:
        def failed(response: dict[str, Any]) -> DeployError:
            config = response.get("Configuration", {})
            reason = config.get("StateReason") or config.get("LastUpdateStatusReason")
            return DeployError(f"function {name} failed to deploy: {reason}")

        ctx.wait(
            "lambda", waiter, f"function {name} to become Active", failed=failed, FunctionName=name
        )

    def find_owned(self, ctx: Context) -> list[Delete]:
        client = ctx.client("lambda")
        found = []
        for function in paginate(client, "list_functions", "Functions"):
            name = function["FunctionName"]
            if name.startswith(ctx.prefix) and ctx.ours(
                client.list_tags(Resource=function["FunctionArn"]).get("Tags", {})
            ):
                found.append(Delete(self.name, name))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        client = ctx.client("lambda")
        missing(lambda: client.delete_function(FunctionName=step.name))

    def permissions(self, scope: Scope) -> list[Permission]:
        return [
            Permission(
                (scope.arn("lambda", f"function:{scope.names}"),),
                reads=("lambda:GetFunction", "lambda:ListTags"),
                writes=(
                    "lambda:CreateFunction",
                    "lambda:UpdateFunctionCode",
                    "lambda:UpdateFunctionConfiguration",
                    "lambda:DeleteFunction",
                    "lambda:TagResource",  # also what CreateFunction with tags needs
                    "lambda:UntagResource",
                ),
            ),
            list_call("lambda:ListFunctions"),
        ]


KIND = FunctionKind()
