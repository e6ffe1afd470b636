"""What every resource model shares: references between resources, policy statements, and
the bases of a desired resource and of what exists of one.

A model says *what* should exist, never how to get there; each kind's model lives with the
code that reads, diffs, creates and deletes it (:mod:`bootstrap.resources`). Values that are
only known once another resource exists (an ARN, the REST API id) are written as
:class:`Sub` templates such as ``Sub("${skybook-api.id}")`` and resolved at apply time,
so the stack description stays one readable, declarative list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
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
    """True when a resolved value (dataclasses included) holds no placeholder any more."""
    if isinstance(value, str):
        return _PLACEHOLDER.search(value) is None
    if isinstance(value, Mapping):
        return all(is_resolved(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(is_resolved(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return all(is_resolved(getattr(value, f.name)) for f in fields(value))
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
            elif is_dataclass(value) and not isinstance(value, type):
                for f in fields(value):
                    walk(getattr(value, f.name))

        walk(self)
        found.discard(self.name)
        return found

    def predicted(self, account: str, region: str) -> dict[str, str]:
        """Attributes AWS will give this resource, when they follow from its name.

        Predicting them lets ``plan`` compare policies that mention resources which do not
        exist yet; what the account reports always wins over a prediction.
        """
        return {}


class Observed:
    """Base of what exists of one resource, as its kind reads it (typed per kind)."""

    def attrs(self) -> dict[str, str]:
        """Values other resources may refer to (``${<name>.<attr>}``): an ARN, a URL, an id."""
        return {}
