"""What every kind of resource provides (:class:`Kind`), and what its operations get to work
with (:class:`Context`): the target, the stack, the values known so far, the deadlines."""

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
    """One plan's, apply's or sweep's view of the target. ``known`` maps ``<name>.<attr>``
    (and ``AWS::AccountId``, ``AWS::Region``) to values, filled in as resources are read or
    created; ``sleep`` and ``clock`` pace retries (tests fake them)."""

    target: Target
    stack: str
    known: dict[str, str] = field(default_factory=dict)
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
        return [{"Key": TAG_KEY, "Value": self.stack}]

    def tag_map(self) -> dict[str, str]:
        return {TAG_KEY: self.stack}

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


class Kind(Generic[M, S]):
    """Everything about one kind of resource: its model ``M``, what exists of one (``S``),
    and the operations the generic planner, executor and sweeper call.

    ``deletion_rank`` orders a sweep: lower goes first, so dependents go before what they
    need (a bus cannot go while it has rules; a role is unused once its function is gone).
    ``removed_with`` names the kind (always ``Function``) whose resource, named by a
    :class:`Delete` step's locator, takes this one along when it goes.
    """

    model: ClassVar[type[Resource]]
    deletion_rank: ClassVar[int]
    removed_with: ClassVar[str | None] = None

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
