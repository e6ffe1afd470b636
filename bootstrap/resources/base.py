"""What every kind of resource provides (:class:`Kind`), and what its operations get to work
with (:class:`Context`): the target, the deployment, its tags, the values known so far, the
deadlines. :class:`Permission` and :class:`Scope` are how a kind says which IAM actions its
operations need (:mod:`bootstrap.policy` puts them together)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import botocore.exceptions

from bootstrap.aws import error_code, tags_as_map
from bootstrap.errors import DeployError
from bootstrap.models import (
    TAG_KEY,
    Observed,
    Resource,
    Statement,
    is_resolved,
    policy_document,
    resolve,
)
from bootstrap.retry import retry
from bootstrap.steps import Delete
from bootstrap.target import Target

M = TypeVar("M", bound=Resource)
S = TypeVar("S", bound=Observed)
T = TypeVar("T")

WAIT_DELAY = 0.2
"""Seconds between the polls of a wait: LocalStack makes a function Active in a few tenths of
a second, and the deadline (not the number of polls) bounds a wait on AWS."""


@dataclass
class Context:
    """One plan's, apply's or sweep's view of the target. ``stack`` is the deployment (the
    stack's name, plus ``-<stage>`` off the default stage): its names' prefix and the value
    of the ownership tag; ``tags`` are the others every resource gets (stage, user tags).
    ``known`` maps ``<name>.<attr>`` (and ``AWS::AccountId``, ``AWS::Region``) to values,
    filled in as resources are read or created; ``sleep`` and ``clock`` pace retries (tests
    fake them)."""

    target: Target
    stack: str
    known: dict[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    wait_timeout: float = 180.0
    role_propagation_timeout: float = 120.0
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @property
    def prefix(self) -> str:
        """Every name of the stack starts with it (SES templates and log groups aside)."""
        return f"{self.stack}-"

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def ours(self, tags: Any) -> bool:
        """Tagged as this stack's (tags as a dict or a Key/Value list)."""
        return tags_as_map(tags).get(TAG_KEY) == self.stack

    def tag_list(self) -> list[dict[str, str]]:
        return [{"Key": key, "Value": value} for key, value in self.tag_map().items()]

    def tag_map(self) -> dict[str, str]:
        """Every tag a resource of the deployment carries: ours and the user's."""
        return {**self.tags, TAG_KEY: self.stack}

    def tag_changes(self, tags: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
        """What to set and which keys to remove so that ``tags`` become :meth:`tag_map`.

        The deployer owns its resources' tags, like Terraform: a tag added by hand is drift
        and goes (``aws:`` tags, which AWS manages, excepted).
        """
        wanted = self.tag_map()
        put = {k: v for k, v in wanted.items() if tags.get(k) != v}
        remove = sorted(k for k in tags if k not in wanted and not k.startswith("aws:"))
        return put, remove

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, once per context: reads several resources share (a function's
        resource policy holds all its permissions)."""
        if key not in self._memo:
            self._memo[key] = compute()
        value: T = self._memo[key]
        return value

    def value(self, value: Any) -> Any:
        """Resolve references now; everything referenced must exist by this step."""
        resolved = resolve(value, self.known, strict=False)
        if not is_resolved(resolved):
            raise DeployError(
                f"internal ordering problem: {resolved} refers to something not created yet; "
                "check the order of bootstrap/stack.py"
            )
        return resolved

    def policy_json(self, statements: tuple[Statement, ...]) -> str:
        return json.dumps(self.value(policy_document(statements)), sort_keys=True)

    def wait(
        self,
        service: str,
        waiter: str,
        what: str,
        *,
        failed: Callable[[dict[str, Any]], Exception] | None = None,
        **params: Any,
    ) -> None:
        """Wait with botocore's ``waiter``, every :data:`WAIT_DELAY` s up to ``wait_timeout``.

        Past the deadline: a TimeoutError naming ``what``; a failure state: ``failed(last
        response)``; an error answer: that error, as the call itself would have raised it.
        """
        client = self.client(service)
        attempts = max(1, math.ceil(self.wait_timeout / WAIT_DELAY)) + 1
        try:
            client.get_waiter(waiter).wait(
                **params, WaiterConfig={"Delay": WAIT_DELAY, "MaxAttempts": attempts}
            )
        except botocore.exceptions.WaiterError as error:
            response: Any = error.last_response or {}
            if "Error" in response:
                operation = client.get_waiter(waiter).config.operation
                raise botocore.exceptions.ClientError(response, operation) from None  # type: ignore[arg-type]
            reason = str(error.kwargs.get("reason", ""))
            if failed is not None and not reason.startswith("Max attempts exceeded"):
                raise failed(response) from None
            raise TimeoutError(
                f"timed out after {self.wait_timeout:.0f}s waiting for {what}"
            ) from None

    def await_iam(
        self, call: Callable[[], T], refused: Callable[[str], bool], what: str, cause: str
    ) -> T:
        """Run ``call``, retrying while AWS refuses it for an IAM change not yet propagated
        (``refused(message)`` of an InvalidParameterValueException says so)."""
        timeout = self.role_propagation_timeout
        return retry(
            call,
            retryable=lambda error: refused(_invalid_parameter_message(error)),
            timeout=timeout,
            sleep=self.sleep,
            clock=self.clock,
            gave_up=lambda _error: DeployError(
                f"{what} after {timeout:.0f}s (IAM propagation is slow, or {cause}): "
                "run apply again"
            ),
        )


def _invalid_parameter_message(error: Exception) -> str:
    """The message of an InvalidParameterValueException; "" for any other error."""
    if error_code(error) != "InvalidParameterValueException":
        return ""
    assert isinstance(error, botocore.exceptions.ClientError)
    return str(error.response.get("Error", {}).get("Message", ""))


@dataclass(frozen=True)
class Scope:
    """What a deploy role's policy covers: every stage of one stack, in one account and
    region (``<stack>-*`` names, plus the tutorial's template names for the default stack)."""

    account: str
    region: str
    stack: str

    @property
    def names(self) -> str:
        """The pattern of every name the stack's deployments give their resources."""
        return f"{self.stack}-*"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"


@dataclass(frozen=True)
class Permission:
    """IAM actions the deployer's calls for one kind need, on ``resources``: ``reads`` for
    plan (and outputs), ``writes`` besides for apply and destroy. A resource ``*`` is for
    actions IAM cannot scope (``why`` says so, for the reviewer)."""

    resources: tuple[str, ...]
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    condition: Mapping[str, Any] | None = None
    why: str = ""


def list_call(*actions: str) -> Permission:
    """``actions`` that list a service's resources: IAM cannot scope them to one."""
    return Permission(("*",), reads=actions, why="a list call: IAM has no resource to scope it to")


def changed(**differs: bool) -> list[str]:
    """The words whose check is true, in order: what a :meth:`Kind.diff` of several checks
    answers (``changed(code=..., config=...)``)."""
    return [word for word, differ in differs.items() if differ]


class Kind(Generic[M, S]):
    """Everything about one kind of resource: its model ``M``, what exists of one (``S``),
    and the operations the generic planner, executor and sweeper call.

    ``taggable`` kinds read their tags into ``S.tags``; the planner compares them with the
    deployment's (:meth:`Context.tag_changes`) and the executor puts them right with
    :meth:`retag`. :meth:`permissions` lists the IAM actions the kind's own calls need.

    ``deletion_rank`` orders a sweep: lower goes first, so dependents go before what they
    need (a bus cannot go while it has rules; a role is unused once its function is gone).
    ``removed_with`` names the kind (always ``Function``) whose resource, named by a
    :class:`Delete` step's locator, takes this one along when it goes.
    """

    model: ClassVar[type[Resource]]
    deletion_rank: ClassVar[int]
    removed_with: ClassVar[str | None] = None
    taggable: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return self.model.kind

    def read(self, ctx: Context, r: M) -> S | None:
        """What exists of ``r`` (None: nothing); describe/get/list calls only."""
        raise NotImplementedError

    def diff(self, r: M, state: S, known: Mapping[str, str]) -> list[str]:
        """What differs between ``r`` and what exists, as short words for the plan."""
        return []

    def create(self, ctx: Context, r: M) -> Mapping[str, str]:
        """Create ``r``; returns the attributes other resources may refer to."""
        raise NotImplementedError

    def update(self, ctx: Context, r: M, state: S, changes: tuple[str, ...]) -> None:
        """Bring what exists in line with ``r``; ``changes`` are :meth:`diff`'s words."""
        raise NotImplementedError(f"{self.name} has nothing to update")

    def find_owned(self, ctx: Context) -> list[Delete]:
        """Every resource of this kind the stack owns, as Delete steps (none: the kind has no
        tags and only ever goes by name, like the SES ones)."""
        return []

    def delete(self, ctx: Context, step: Delete) -> None:
        """Delete one resource; one that is already gone counts as deleted."""
        raise NotImplementedError

    def retag(
        self, ctx: Context, r: M, state: S, put: Mapping[str, str], remove: list[str]
    ) -> None:
        """Set the tags ``put`` and remove the keys ``remove`` (taggable kinds)."""
        raise NotImplementedError(f"{self.name} has no tags")

    def permissions(self, scope: Scope) -> list[Permission]:
        """The IAM actions :meth:`read`, :meth:`create`, :meth:`update`, :meth:`retag`,
        :meth:`find_owned` and :meth:`delete` call, on what (``tests/unit/bootstrap/
        test_policy.py`` checks them against every call they make)."""
        return []


def tags_of(state: Observed) -> Mapping[str, str]:
    """The tags a taggable kind read (its state's ``tags``)."""
    tags: Mapping[str, str] = getattr(state, "tags", {})
    return tags
