"""A function's event invoke config: how Lambda retries an asynchronous invocation that
failed, and where the event goes after the last retry."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from bootstrap.aws import missing
from bootstrap.models import Observed, Resource, Sub, resolve
from bootstrap.resources import function
from bootstrap.resources.base import Context, Kind
from bootstrap.steps import Delete


@dataclass(frozen=True)
class EventInvokeConfig(Resource):
    """How Lambda handles a function's asynchronous invocations (EventBridge makes those):
    how often it retries an invocation that failed, and where the event goes after the last
    retry. ``name`` is the function's name: there is one such config per function.

    Sending to ``on_failure`` uses the function's execution role, so the role needs
    ``sqs:SendMessage`` on that queue (AWS checks it when the config is put).
    """

    kind: ClassVar[str] = "EventInvokeConfig"
    name: str
    on_failure: Sub
    maximum_retry_attempts: int = 2  # AWS's default and maximum
    maximum_event_age_seconds: int = 3600


@dataclass(frozen=True)
class InvokeConfig(Observed):
    """The parts of a config we manage; an absent destination is None."""

    maximum_retry_attempts: int | None
    maximum_event_age_seconds: int | None
    on_failure: str | None
    on_success: str | None = None


def desired(r: EventInvokeConfig, known: Mapping[str, str]) -> InvokeConfig:
    return InvokeConfig(
        maximum_retry_attempts=r.maximum_retry_attempts,
        maximum_event_age_seconds=r.maximum_event_age_seconds,
        on_failure=resolve(r.on_failure, known, strict=False),
    )


def _observed(config: dict[str, Any]) -> InvokeConfig:
    destinations = config.get("DestinationConfig") or {}
    return InvokeConfig(
        maximum_retry_attempts=config.get("MaximumRetryAttempts"),
        maximum_event_age_seconds=config.get("MaximumEventAgeInSeconds"),
        on_failure=(destinations.get("OnFailure") or {}).get("Destination"),
        on_success=(destinations.get("OnSuccess") or {}).get("Destination"),
    )


class EventInvokeConfigKind(Kind[EventInvokeConfig, InvokeConfig]):
    model = EventInvokeConfig
    deletion_rank = 30
    removed_with = "Function"

    def read(self, ctx: Context, r: EventInvokeConfig) -> InvokeConfig | None:
        client = ctx.client("lambda")
        found = missing(lambda: client.get_function_event_invoke_config(FunctionName=r.name))
        return None if found is None else _observed(found)

    def diff(
        self, r: EventInvokeConfig, state: InvokeConfig, known: Mapping[str, str]
    ) -> list[str]:
        return ["config"] if state != desired(r, known) else []

    def create(self, ctx: Context, r: EventInvokeConfig) -> dict[str, str]:
        """Put the whole config (Put replaces; Update would merge with what is there)."""
        wanted: InvokeConfig = ctx.value(desired(r, ctx.known))
        client = ctx.client("lambda")
        ctx.await_iam(
            lambda: client.put_function_event_invoke_config(
                FunctionName=r.name,
                MaximumRetryAttempts=wanted.maximum_retry_attempts,
                MaximumEventAgeInSeconds=wanted.maximum_event_age_seconds,
                DestinationConfig={"OnFailure": {"Destination": wanted.on_failure}},
            ),
            # AWS checks that the function's role may send to the destination; a policy
            # statement just added takes a few seconds to count.
            lambda message: "permission" in message.lower(),
            f"function {r.name}: its role still may not send to {wanted.on_failure}",
            "the role's policy lacks sqs:SendMessage",
        )
        return {}

    def update(
        self, ctx: Context, r: EventInvokeConfig, state: InvokeConfig, changes: tuple[str, ...]
    ) -> None:
        self.create(ctx, r)

    def find_owned(self, ctx: Context) -> list[Delete]:
        """Our functions' event invoke configs (one per function, named after it)."""
        client = ctx.client("lambda")
        found = []
        for owner in function.KIND.find_owned(ctx):
            configs = missing(
                functools.partial(
                    client.list_function_event_invoke_configs, FunctionName=owner.name
                )
            )
            if (configs or {}).get("FunctionEventInvokeConfigs"):
                found.append(Delete(self.name, owner.name, locator=owner.name))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        client = ctx.client("lambda")
        missing(lambda: client.delete_function_event_invoke_config(FunctionName=step.name))


KIND = EventInvokeConfigKind()
