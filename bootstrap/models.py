"""Typed, immutable descriptions of the resources the stack wants to exist.

A model says *what* should exist, never how to get there: the planner compares models with
what the account holds and the executor turns differences into API calls. Values that are
only known once another resource exists (an ARN, the REST API id) are written as
:class:`Sub` templates such as ``Sub("${skybook-api.id}")`` and resolved at apply time,
so the stack description stays one readable, declarative list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

TAG_KEY = "skybook:stack"
"""Every taggable resource of a stack carries ``skybook:stack=<stack>``: with the name prefix
it is how the sweeper tells our resources from someone else's that merely look alike."""

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Sub:
    """A string with ``${AWS::AccountId}``, ``${AWS::Region}`` or ``${<resource>.<attr>}``
    placeholders, filled in from the resources that exist (CloudFormation's Fn::Sub)."""

    template: str

    def refs(self) -> set[str]:
        """Names of the resources this value depends on."""
        return {
            key.rsplit(".", 1)[0]
            for key in _PLACEHOLDER.findall(self.template)
            if not key.startswith("AWS::")
        }


def ref(resource: str, attr: str = "arn") -> Sub:
    """An attribute of another resource of the stack, such as its ARN."""
    return Sub("${" + resource + "." + attr + "}")


class Unresolved(Exception):
    """A placeholder names a value that is not known yet (its resource does not exist)."""


def resolve(value: Any, known: Mapping[str, str], *, strict: bool = True) -> Any:
    """Replace every :class:`Sub` inside ``value`` (dicts, lists, tuples) with a string.

    With ``strict=False`` unknown placeholders stay in the text, which is what ``plan``
    shows for values that only exist after apply.
    """
    if isinstance(value, Sub):

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in known:
                return known[key]
            if strict:
                raise Unresolved(key)
            return match.group(0)

        return _PLACEHOLDER.sub(fill, value.template)
    if isinstance(value, Mapping):
        return {k: resolve(v, known, strict=strict) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, known, strict=strict) for v in value]
    return value


def is_resolved(value: Any) -> bool:
    """True when a resolved value holds no placeholder any more."""
    if isinstance(value, str):
        return _PLACEHOLDER.search(value) is None
    if isinstance(value, Mapping):
        return all(is_resolved(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(is_resolved(v) for v in value)
    return True


@dataclass(frozen=True)
class Statement:
    """One IAM policy statement: explicit actions on explicit resources (never ``*``)."""

    actions: tuple[str, ...]
    resources: tuple[str | Sub, ...]
    effect: str = "Allow"
    principal_service: str | None = None
    condition: Mapping[str, Any] | None = None
    sid: str | None = None

    def document(self) -> dict[str, Any]:
        """The JSON shape IAM, SQS and Lambda expect (still holding :class:`Sub` values)."""
        doc: dict[str, Any] = {}
        if self.sid:
            doc["Sid"] = self.sid
        doc["Effect"] = self.effect
        if self.principal_service:
            doc["Principal"] = {"Service": self.principal_service}
        doc["Action"] = list(self.actions)
        doc["Resource"] = list(self.resources)
        if self.condition:
            doc["Condition"] = dict(self.condition)
        return doc


def policy_document(statements: tuple[Statement, ...]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [s.document() for s in statements]}


class Resource:
    """Base of all models: a kind, a unique name and the names it depends on."""

    kind: ClassVar[str]
    name: str

    def depends_on(self) -> set[str]:
        """Stack resource names referenced by this resource's values."""
        found: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, Sub):
                found.update(value.refs())
            elif isinstance(value, Statement):
                walk(value.resources)
                walk(value.condition)
            elif isinstance(value, Mapping):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list | tuple):
                for v in value:
                    walk(v)
            elif hasattr(value, "__dataclass_fields__"):
                for f in value.__dataclass_fields__:
                    walk(getattr(value, f))

        for f in self.__dataclass_fields__:  # type: ignore[attr-defined]
            walk(getattr(self, f))
        found.discard(self.name)
        return found

    def predicted(self, account: str, region: str) -> dict[str, str]:
        """Attributes AWS will give this resource, when they follow from its name.

        Predicting them lets ``plan`` compare policies that mention resources which do not
        exist yet; what the account reports always wins over a prediction.
        """
        return {}


@dataclass(frozen=True)
class EventBus(Resource):
    kind: ClassVar[str] = "EventBus"
    name: str

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:events:{region}:{account}:event-bus/{self.name}"}


@dataclass(frozen=True)
class Table(Resource):
    """A DynamoDB table with string hash and range keys, billed per request."""

    kind: ClassVar[str] = "Table"
    name: str
    hash_key: str = "PK"
    range_key: str = "SK"
    billing_mode: str = "PAY_PER_REQUEST"

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:dynamodb:{region}:{account}:table/{self.name}"}


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
class LogGroup(Resource):
    """A CloudWatch Logs group, created by us so that destroy can remove it again."""

    kind: ClassVar[str] = "LogGroup"
    name: str
    retention_days: int = 14

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:logs:{region}:{account}:log-group:{self.name}"}


@dataclass(frozen=True)
class LogResourcePolicy(Resource):
    """An account-level CloudWatch Logs resource policy (lets EventBridge write logs)."""

    kind: ClassVar[str] = "LogResourcePolicy"
    name: str
    statements: tuple[Statement, ...] = ()


@dataclass(frozen=True)
class Role(Resource):
    """An IAM role with one inline policy, assumable by one AWS service."""

    kind: ClassVar[str] = "Role"
    name: str
    trust_service: str
    statements: tuple[Statement, ...]

    def trust_document(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": self.trust_service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }

    def policy(self) -> dict[str, Any]:
        return policy_document(self.statements)

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:iam::{account}:role/{self.name}"}


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
class LambdaPermission(Resource):
    """Lets one AWS service invoke a function, for one source ARN only.

    ``name`` is the statement id in the function's resource policy.
    """

    kind: ClassVar[str] = "LambdaPermission"
    name: str
    function: str
    principal: str
    source_arn: Sub
    action: str = "lambda:InvokeFunction"


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


@dataclass(frozen=True)
class SesIdentity(Resource):
    """The sender: an email address or a whole domain (SES v1: works on LocalStack and AWS)."""

    kind: ClassVar[str] = "SesIdentity"
    name: str  # the address or domain itself

    @property
    def is_domain(self) -> bool:
        return "@" not in self.name

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:ses:{region}:{account}:identity/{self.name}"}


@dataclass(frozen=True)
class SesTemplate(Resource):
    kind: ClassVar[str] = "SesTemplate"
    name: str
    subject: str
    html: str
    text: str

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:ses:{region}:{account}:template/{self.name}"}
