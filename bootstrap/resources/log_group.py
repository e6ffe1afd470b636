"""A CloudWatch Logs group: a function's logs, or the copy of every event of the bus."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import botocore.exceptions

from bootstrap.aws import error_code, missing, paginate
from bootstrap.models import Observed, Resource
from bootstrap.resources.base import Context, Kind, Permission, Scope, list_call
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
    # tags until we adopt it (a "tags" change), and destroy would miss it.
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn}


def event_log_group(stack: str) -> str:
    """The group the catch-all rule copies every event of the stack's bus to."""
    return f"/aws/events/{stack}"


class LogGroupKind(Kind[LogGroup, LogGroupState]):
    model = LogGroup
    deletion_rank = 80
    taggable = True

    def read(self, ctx: Context, r: LogGroup) -> LogGroupState | None:
        logs = ctx.client("logs")
        for group in paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=r.name):
            if group["logGroupName"] == r.name:
                return LogGroupState(
                    arn=group.get("logGroupArn") or group["arn"].removesuffix(":*"),
                    retention=group.get("retentionInDays"),
                    tags=_tags(ctx, r.name),
                )
        return None

    def diff(self, r: LogGroup, state: LogGroupState, known: Mapping[str, str]) -> list[str]:
        return ["retention"] if state.retention != r.retention_days else []

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
        ctx.client("logs").put_retention_policy(
            logGroupName=r.name, retentionInDays=r.retention_days
        )

    def retag(
        self,
        ctx: Context,
        r: LogGroup,
        state: LogGroupState,
        put: Mapping[str, str],
        remove: list[str],
    ) -> None:
        logs = ctx.client("logs")
        if put:
            logs.tag_resource(resourceArn=state.arn, tags=dict(put))
        if remove:
            logs.untag_resource(resourceArn=state.arn, tagKeys=remove)

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
                if ctx.ours(_tags(ctx, name)):
                    found.append(Delete(self.name, name))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        logs = ctx.client("logs")
        missing(lambda: logs.delete_log_group(logGroupName=step.name))

    def permissions(self, scope: Scope) -> list[Permission]:
        return [
            Permission(
                (
                    scope.arn("logs", f"log-group:/aws/lambda/{scope.names}"),
                    # the event log, /aws/events/<deployment>
                    scope.arn("logs", f"log-group:{event_log_group(scope.stack)}"),
                    scope.arn("logs", f"log-group:{event_log_group(scope.names)}"),
                ),
                reads=("logs:ListTagsLogGroup", "logs:ListTagsForResource"),
                writes=(
                    "logs:CreateLogGroup",
                    "logs:DeleteLogGroup",
                    "logs:PutRetentionPolicy",
                    "logs:TagResource",  # also what CreateLogGroup with tags needs
                    "logs:TagLogGroup",
                    "logs:UntagResource",
                ),
            ),
            list_call("logs:DescribeLogGroups"),
        ]


def _tags(ctx: Context, name: str) -> dict[str, str]:
    tags: dict[str, str] = ctx.client("logs").list_tags_log_group(logGroupName=name).get("tags", {})
    return tags


KIND = LogGroupKind()
