"""A CloudWatch Logs group: a function's logs, or the copy of every event of the bus."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import botocore.exceptions

from bootstrap.aws import error_code, missing, paginate
from bootstrap.models import Observed, Resource
from bootstrap.resources.base import Context, Kind
from bootstrap.steps import Delete


@dataclass(frozen=True)
class LogGroup(Resource):
    """A CloudWatch Logs group, created by us so that destroy can remove it again."""

    kind: ClassVar[str] = "LogGroup"
    name: str
    retention_days: int = 14

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:logs:{region}:{account}:log-group:{self.name}"}


@dataclass(frozen=True)
class LogGroupState(Observed):
    arn: str
    retention: int | None
    # Lambda creates its group on first use if it does not exist: such a group lacks our
    # tag until we adopt it, and destroy would miss it.
    tagged: bool

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn}


def event_log_group(stack: str) -> str:
    """The group the catch-all rule copies every event of the stack's bus to."""
    return f"/aws/events/{stack}"


class LogGroupKind(Kind[LogGroup, LogGroupState]):
    model = LogGroup
    deletion_rank = 80

    def read(self, ctx: Context, r: LogGroup) -> LogGroupState | None:
        logs = ctx.client("logs")
        for group in paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=r.name):
            if group["logGroupName"] == r.name:
                tags = logs.list_tags_log_group(logGroupName=r.name).get("tags", {})
                return LogGroupState(
                    arn=group.get("logGroupArn") or group["arn"].removesuffix(":*"),
                    retention=group.get("retentionInDays"),
                    tagged=ctx.ours(tags),
                )
        return None

    def diff(self, r: LogGroup, state: LogGroupState, known: Mapping[str, str]) -> list[str]:
        found = []
        if state.retention != r.retention_days:
            found.append("retention")
        if not state.tagged:
            found.append("tags")
        return found

    def create(self, ctx: Context, r: LogGroup) -> dict[str, str]:
        logs = ctx.client("logs")
        predicted = r.predicted(ctx.target.account, ctx.target.region)
        try:
            logs.create_log_group(logGroupName=r.name, tags=ctx.tag_map())
        except botocore.exceptions.ClientError as error:
            if error_code(error) != "ResourceAlreadyExistsException":
                raise
            # Lambda made it on a first invocation before we did: adopt it.
            logs.tag_resource(resourceArn=predicted["arn"], tags=ctx.tag_map())
        logs.put_retention_policy(logGroupName=r.name, retentionInDays=r.retention_days)
        return predicted

    def update(
        self, ctx: Context, r: LogGroup, state: LogGroupState, changes: tuple[str, ...]
    ) -> None:
        logs = ctx.client("logs")
        if "tags" in changes:
            logs.tag_resource(resourceArn=state.arn, tags=ctx.tag_map())
        if "retention" in changes:
            logs.put_retention_policy(logGroupName=r.name, retentionInDays=r.retention_days)

    def find_owned(self, ctx: Context) -> list[Delete]:
        logs = ctx.client("logs")
        found = []
        for prefix in (f"/aws/lambda/{ctx.prefix}", event_log_group(ctx.stack)):
            for group in paginate(
                logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix
            ):
                name = group["logGroupName"]
                if prefix.startswith("/aws/events/") and name != prefix:
                    continue
                tags = logs.list_tags_log_group(logGroupName=name).get("tags", {})
                if ctx.ours(tags):
                    found.append(Delete(self.name, name))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        logs = ctx.client("logs")
        missing(lambda: logs.delete_log_group(logGroupName=step.name))


KIND = LogGroupKind()
