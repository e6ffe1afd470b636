"""An EventBridge event bus: the app's events go through it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from bootstrap.aws import missing, tags_as_map
from bootstrap.models import Observed, Resource
from bootstrap.resources.base import Context, Kind, Permission, Scope, list_call
from bootstrap.steps import Delete


@dataclass(frozen=True)
class EventBus(Resource):
    kind: ClassVar[str] = "EventBus"
    name: str

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:events:{region}:{account}:event-bus/{self.name}"}


@dataclass(frozen=True)
class EventBusState(Observed):
    arn: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn}


def retag_events(ctx: Context, arn: str, put: Mapping[str, str], remove: list[str]) -> None:
    """Tags of an EventBridge bus or rule."""
    events = ctx.client("events")
    if put:
        events.tag_resource(ResourceARN=arn, Tags=[{"Key": k, "Value": v} for k, v in put.items()])
    if remove:
        events.untag_resource(ResourceARN=arn, TagKeys=remove)


def events_tags(ctx: Context, arn: str) -> dict[str, str]:
    return tags_as_map(ctx.client("events").list_tags_for_resource(ResourceARN=arn)["Tags"])


class EventBusKind(Kind[EventBus, EventBusState]):
    model = EventBus
    deletion_rank = 130
    taggable = True

    def read(self, ctx: Context, r: EventBus) -> EventBusState | None:
        found = missing(lambda: ctx.client("events").describe_event_bus(Name=r.name))
        if found is None:
            return None
        return EventBusState(arn=found["Arn"], tags=events_tags(ctx, found["Arn"]))

    def create(self, ctx: Context, r: EventBus) -> dict[str, str]:
        events = ctx.client("events")
        return {"arn": events.create_event_bus(Name=r.name, Tags=ctx.tag_list())["EventBusArn"]}

    def retag(
        self,
        ctx: Context,
        r: EventBus,
        state: EventBusState,
        put: Mapping[str, str],
        remove: list[str],
    ) -> None:
        retag_events(ctx, state.arn, put, remove)

    def find_owned(self, ctx: Context) -> list[Delete]:
        events = ctx.client("events")
        buses = events.list_event_buses(NamePrefix=ctx.prefix).get("EventBuses", [])
        return [
            Delete(self.name, bus["Name"])
            for bus in buses
            if ctx.ours(events_tags(ctx, bus["Arn"]))
        ]

    def delete(self, ctx: Context, step: Delete) -> None:
        events = ctx.client("events")
        missing(lambda: events.delete_event_bus(Name=step.name))

    def permissions(self, scope: Scope) -> list[Permission]:
        return [
            Permission(
                (scope.arn("events", f"event-bus/{scope.names}"),),
                reads=("events:DescribeEventBus", "events:ListTagsForResource"),
                writes=(
                    "events:CreateEventBus",
                    "events:DeleteEventBus",
                    "events:TagResource",
                    "events:UntagResource",
                ),
            ),
            list_call("events:ListEventBuses"),
        ]


KIND = EventBusKind()
