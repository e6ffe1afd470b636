"""An SQS queue: where events nobody could deliver, or a function failed on, wait to be read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from bootstrap.aws import error_code, missing, normalize_policy
from bootstrap.models import Observed, Resource, Statement, policy_document, resolve
from bootstrap.resources.base import Context, Kind, Permission, Scope, changed, list_call
from bootstrap.retry import retry
from bootstrap.steps import Delete


@dataclass(frozen=True)
class Queue(Resource):
    """An SQS queue and its resource policy (none when ``policy`` is empty: only
    identity policies, such as a function role's, may then send to it)."""

    kind: ClassVar[str] = "Queue"
    name: str
    policy: tuple[Statement, ...] = ()
    message_retention_seconds: int = 1_209_600  # 14 days, the maximum: time to look

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:sqs:{region}:{account}:{self.name}"}


@dataclass(frozen=True)
class QueueState(Observed):
    arn: str
    url: str
    policy: str | None  # the policy's JSON text
    retention: int
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn, "url": self.url}


class QueueKind(Kind[Queue, QueueState]):
    model = Queue
    deletion_rank = 110
    taggable = True

    def read(self, ctx: Context, r: Queue) -> QueueState | None:
        sqs = ctx.client("sqs")
        found = missing(lambda: sqs.get_queue_url(QueueName=r.name))
        if found is None:
            return None
        url = found["QueueUrl"]
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", "Policy", "MessageRetentionPeriod"]
        )["Attributes"]
        return QueueState(
            arn=attrs["QueueArn"],
            url=url,
            policy=attrs.get("Policy"),
            retention=int(attrs.get("MessageRetentionPeriod", 0)),
            tags=_tags(ctx, url),
        )

    def diff(self, r: Queue, state: QueueState, known: Mapping[str, str]) -> list[str]:
        wanted = resolve(policy_document(r.policy), known, strict=False) if r.policy else None
        return changed(
            policy=normalize_policy(state.policy) != normalize_policy(wanted),
            retention=state.retention != r.message_retention_seconds,
        )

    def create(self, ctx: Context, r: Queue) -> dict[str, str]:
        sqs = ctx.client("sqs")
        url = retry(
            lambda: sqs.create_queue(
                QueueName=r.name,
                Attributes={"MessageRetentionPeriod": str(r.message_retention_seconds)},
                tags=ctx.tag_map(),
            )["QueueUrl"],
            # AWS refuses a queue name for 60 s after a queue of that name was deleted
            # (destroy, then apply right away); past the deadline its own error says so.
            retryable=lambda error: "QueueDeletedRecently" in error_code(error),
            timeout=75.0,
            sleep=ctx.sleep,
            clock=ctx.clock,
            delay=5.0,
            max_delay=5.0,
        )
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arn = attributes["Attributes"]["QueueArn"]
        ctx.known[f"{r.name}.arn"] = arn  # the policy may name the queue itself
        if r.policy:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ctx.policy_json(r.policy)})
        return {"arn": arn, "url": url}

    def update(self, ctx: Context, r: Queue, state: QueueState, changes: tuple[str, ...]) -> None:
        ctx.client("sqs").set_queue_attributes(
            QueueUrl=state.url,
            Attributes={
                # An empty policy removes the queue's resource policy.
                "Policy": ctx.policy_json(r.policy) if r.policy else "",
                "MessageRetentionPeriod": str(r.message_retention_seconds),
            },
        )

    def retag(
        self, ctx: Context, r: Queue, state: QueueState, put: Mapping[str, str], remove: list[str]
    ) -> None:
        sqs = ctx.client("sqs")
        if put:
            sqs.tag_queue(QueueUrl=state.url, Tags=dict(put))
        if remove:
            sqs.untag_queue(QueueUrl=state.url, TagKeys=remove)

    def find_owned(self, ctx: Context) -> list[Delete]:
        sqs = ctx.client("sqs")
        found = []
        for url in sqs.list_queues(QueueNamePrefix=ctx.prefix).get("QueueUrls", []):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith(ctx.prefix) and ctx.ours(_tags(ctx, url)):
                found.append(Delete(self.name, name, locator=url))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        sqs = ctx.client("sqs")
        missing(lambda: sqs.delete_queue(QueueUrl=step.locator))

    def permissions(self, scope: Scope) -> list[Permission]:
        return [
            Permission(
                (scope.arn("sqs", scope.names),),
                reads=("sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListQueueTags"),
                writes=(
                    "sqs:CreateQueue",
                    "sqs:SetQueueAttributes",
                    "sqs:DeleteQueue",
                    "sqs:TagQueue",  # also what CreateQueue with tags needs
                    "sqs:UntagQueue",
                ),
            ),
            list_call("sqs:ListQueues"),
        ]


def _tags(ctx: Context, url: str) -> dict[str, str]:
    tags: dict[str, str] = ctx.client("sqs").list_queue_tags(QueueUrl=url).get("Tags", {})
    return tags


KIND = QueueKind()
