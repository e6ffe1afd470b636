"""An EventBridge event bus: the app's events go through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bootstrap.aws import missing
from bootstrap.models import Observed, Resource
from bootstrap.resources.base import Context, Kind
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

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn}


class EventBusKind(Kind[EventBus, EventBusState]):
    model = EventBus
    deletion_rank = 130

    def read(self, ctx: Context, r: EventBus) -> EventBusState | None:
        found = missing(lambda: ctx.client("events").describe_event_bus(Name=r.name))
        return None if found is None else EventBusState(arn=found["Arn"])

    def create(self, ctx: Context, r: EventBus) -> dict[str, str]:
        events = ctx.client("events")
        return {"arn": events.create_event_bus(Name=r.name, Tags=ctx.tag_list())["EventBusArn"]}

    def find_owned(self, ctx: Context) -> list[Delete]:
        events = ctx.client("events")
        buses = events.list_event_buses(NamePrefix=ctx.prefix).get("EventBuses", [])
        return [
            Delete(self.name, bus["Name"])
            for bus in buses
            if ctx.ours(events.list_tags_for_resource(ResourceARN=bus["Arn"])["Tags"])
        ]

    def delete(self, ctx: Context, step: Delete) -> None:
        events = ctx.client("events")
        missing(lambda: events.delete_event_bus(Name=step.name))


KIND = EventBusKind()
