"""An EventBridge rule and its targets: an event pattern on a bus, or a schedule."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bootstrap.aws import missing, paginate
from bootstrap.errors import DeployError
from bootstrap.models import Observed, Resource, Sub, resolve
from bootstrap.resources import event_bus
from bootstrap.resources.base import Context, Kind, Permission, Scope, changed, list_call
from bootstrap.steps import Delete


@dataclass(frozen=True)
class RetryPolicy:
    maximum_retry_attempts: int = 8
    maximum_event_age_seconds: int = 3600


@dataclass(frozen=True)
class Target:
    """A rule target: where matching events go, how often to retry, where failures land."""

    id: str
    arn: Sub
    retry: RetryPolicy = RetryPolicy()
    dead_letter_arn: Sub | None = None


@dataclass(frozen=True)
class Rule(Resource):
    """An EventBridge rule: an event pattern on a bus, or a schedule on the default bus."""

    kind: ClassVar[str] = "Rule"
    name: str
    targets: tuple[Target, ...]
    bus: str = "default"
    event_pattern: Mapping[str, Any] | None = None
    schedule: str | None = None
    description: str = ""

    def predicted(self, account: str, region: str) -> dict[str, str]:
        path = self.name if self.bus == "default" else f"{self.bus}/{self.name}"
        return {"arn": f"arn:aws:events:{region}:{account}:rule/{path}"}


@dataclass(frozen=True)
class RuleSettings:
    pattern: Any  # the event pattern as data; None for a schedule
    schedule: str | None
    state: str | None
    description: str


@dataclass(frozen=True)
class TargetState:
    """The parts of a rule target we manage (``retry``: attempts and event age)."""

    id: str
    arn: str
    retry: tuple[int | None, int | None] | None = None
    dead_letter_arn: str | None = None

    def params(self) -> dict[str, Any]:
        """The target as PutTargets takes it."""
        params: dict[str, Any] = {"Id": self.id, "Arn": self.arn}
        if self.retry is not None:
            attempts, age = self.retry
            params["RetryPolicy"] = {
                "MaximumRetryAttempts": attempts,
                "MaximumEventAgeInSeconds": age,
            }
        if self.dead_letter_arn:
            params["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        return params


@dataclass(frozen=True)
class RuleState(Observed):
    arn: str
    settings: RuleSettings
    targets: tuple[TargetState, ...]  # sorted by id
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn}


def _observed_target(target: dict[str, Any]) -> TargetState:
    retry = target.get("RetryPolicy")
    return TargetState(
        id=target["Id"],
        arn=target["Arn"],
        retry=(
            (retry.get("MaximumRetryAttempts"), retry.get("MaximumEventAgeInSeconds"))
            if retry
            else None
        ),
        dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn") or None,
    )


def desired_settings(r: Rule, known: Mapping[str, str]) -> RuleSettings:
    return RuleSettings(
        pattern=resolve(r.event_pattern, known, strict=False),
        schedule=r.schedule,
        state="ENABLED",
        description=r.description,
    )


def desired_targets(r: Rule, known: Mapping[str, str]) -> tuple[TargetState, ...]:
    targets = (
        TargetState(
            id=t.id,
            arn=resolve(t.arn, known, strict=False),
            retry=(t.retry.maximum_retry_attempts, t.retry.maximum_event_age_seconds),
            dead_letter_arn=(
                None
                if t.dead_letter_arn is None
                else resolve(t.dead_letter_arn, known, strict=False)
            ),
        )
        for t in r.targets
    )
    return tuple(sorted(targets, key=lambda t: t.id))


class RuleKind(Kind[Rule, RuleState]):
    model = Rule
    deletion_rank = 10
    taggable = True

    def read(self, ctx: Context, r: Rule) -> RuleState | None:
        events = ctx.client("events")
        found = missing(lambda: events.describe_rule(Name=r.name, EventBusName=r.bus))
        if found is None:
            return None
        targets = events.list_targets_by_rule(Rule=r.name, EventBusName=r.bus)["Targets"]
        pattern = found.get("EventPattern")
        return RuleState(
            arn=found["Arn"],
            settings=RuleSettings(
                pattern=json.loads(pattern) if pattern else None,
                schedule=found.get("ScheduleExpression"),
                state=found.get("State"),
                description=found.get("Description", ""),
            ),
            targets=tuple(sorted((_observed_target(t) for t in targets), key=lambda t: t.id)),
            tags=event_bus.events_tags(ctx, found["Arn"]),
        )

    def diff(self, r: Rule, state: RuleState, known: Mapping[str, str]) -> list[str]:
        return changed(
            rule=state.settings != desired_settings(r, known),
            targets=state.targets != desired_targets(r, known),
        )

    def create(self, ctx: Context, r: Rule) -> dict[str, str]:
        arn = self._put_rule(ctx, r)
        self._put_targets(ctx, r, ())
        return {"arn": arn}

    def update(self, ctx: Context, r: Rule, state: RuleState, changes: tuple[str, ...]) -> None:
        if "rule" in changes:
            self._put_rule(ctx, r)
        if "targets" in changes:
            self._put_targets(ctx, r, state.targets)

    def retag(
        self, ctx: Context, r: Rule, state: RuleState, put: Mapping[str, str], remove: list[str]
    ) -> None:
        event_bus.retag_events(ctx, state.arn, put, remove)

    def _put_rule(self, ctx: Context, r: Rule) -> str:
        params: dict[str, Any] = {
            "Name": r.name,
            "EventBusName": r.bus,
            "State": "ENABLED",
            "Description": r.description,
            "Tags": ctx.tag_list(),
        }
        if r.event_pattern is not None:
            params["EventPattern"] = json.dumps(ctx.value(r.event_pattern))
        if r.schedule is not None:
            params["ScheduleExpression"] = r.schedule
        return str(ctx.client("events").put_rule(**params)["RuleArn"])

    def _put_targets(self, ctx: Context, r: Rule, current: tuple[TargetState, ...]) -> None:
        events = ctx.client("events")
        wanted = ctx.value(desired_targets(r, ctx.known))
        stale = [t.id for t in current if t.id not in {w.id for w in wanted}]
        if stale:
            events.remove_targets(Rule=r.name, EventBusName=r.bus, Ids=stale)
        result = events.put_targets(
            Rule=r.name, EventBusName=r.bus, Targets=[t.params() for t in wanted]
        )
        if result.get("FailedEntryCount"):
            raise DeployError(f"rule {r.name}: targets refused: {result.get('FailedEntries')}")

    def find_owned(self, ctx: Context) -> list[Delete]:
        """Our rules, on the default bus (the schedule) and on our buses; the locator is the
        rule's bus."""
        events = ctx.client("events")
        buses = ["default"] + [bus.name for bus in event_bus.KIND.find_owned(ctx)]
        found = []
        for bus in buses:
            for rule in paginate(
                events, "list_rules", "Rules", NamePrefix=ctx.prefix, EventBusName=bus
            ):
                if ctx.ours(event_bus.events_tags(ctx, rule["Arn"])):
                    found.append(Delete(self.name, rule["Name"], locator=bus))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        events = ctx.client("events")
        name, bus = step.name, step.locator or "default"
        targets = missing(lambda: events.list_targets_by_rule(Rule=name, EventBusName=bus))
        ids = [t["Id"] for t in (targets or {}).get("Targets", [])]
        if ids:
            events.remove_targets(Rule=name, EventBusName=bus, Ids=ids)
        missing(lambda: events.delete_rule(Name=name, EventBusName=bus))

    def permissions(self, scope: Scope) -> list[Permission]:
        return [
            Permission(
                # rule/<name> on the default bus (the schedule), rule/<bus>/<name> on ours:
                # both start rule/<stack>- (a * spans the /)
                (scope.arn("events", f"rule/{scope.names}"),),
                reads=(
                    "events:DescribeRule",
                    "events:ListTargetsByRule",
                    "events:ListTagsForResource",
                ),
                writes=(
                    "events:PutRule",
                    "events:PutTargets",
                    "events:RemoveTargets",
                    "events:DeleteRule",
                    "events:TagResource",
                    "events:UntagResource",
                ),
            ),
            list_call("events:ListRules"),
        ]


KIND = RuleKind()
