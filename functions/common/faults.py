"""The fault switch for reliability tests, as two wrappers; off unless ``FAULT_INJECTION`` is set.

Whole-call faults, :func:`whole_call` on the handler, checked before it reads anything:

* ``{"failUntil": "<ISO time>"}`` fails every invocation until that time (an outage);
* ``{"fail": true}`` always fails (a permanent one: events end in the on-failure queue);
* a malformed switch fails too, since it only exists in tests, where silence would hide a typo.

Per-delivery faults, :func:`per_delivery` on the function that writes one parsed booking
event, for that event only; they make retry tests deterministic:

* ``{"failDeliveries": N}`` fails the first N deliveries of each event (a transient fault:
  with Lambda's 2 async retries, N <= 2 ends in success, N >= 3 in the on-failure queue);
* ``{"pauseSeconds": S}`` sleeps S seconds before any write, which gives a test time to kill
  the process in the middle of an invocation; with ``"pauseOnce": true`` only the first
  delivery pauses, so the retry after the kill runs straight through.

Deliveries are counted in a marker item per event (one atomic ADD per delivery), which also
names the process (``pid``) and request of the latest one: that is how a test finds the
paused process to kill. Production never sets the switch, and the handlers' business code
knows nothing of it.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from common import aws, clock
from common.invocation import Invocation

MAX_PAUSE_SECONDS = 900.0  # Lambda's longest timeout: a longer pause is surely a typo
MARKER_TYPE = "FAULT"

R = TypeVar("R")


class InjectedFault(RuntimeError):
    """Raised on purpose by the fault switch."""


class BookingEvent(Protocol):
    """What :func:`per_delivery` needs of the parsed event: the booking it is about."""

    @property
    def bookingId(self) -> str: ...


E = TypeVar("E", bound=BookingEvent)


def whole_call(fn: Callable[[Invocation], R]) -> Callable[[Invocation], R]:
    """Apply the whole-call faults (and reject a malformed switch) before ``fn`` runs."""

    @functools.wraps(fn)
    def wrapper(call: Invocation) -> R:
        try:
            check(call.config.fault_injection)
        except InjectedFault as exc:
            call.log.error("injected fault", error=str(exc))
            raise
        return fn(call)

    return wrapper


def per_delivery(fn: Callable[[Invocation, E], R]) -> Callable[[Invocation, E], R]:
    """Apply the per-delivery faults to ``event`` before ``fn`` writes anything for it."""

    @functools.wraps(fn)
    def wrapper(call: Invocation, event: E) -> R:
        spec = per_delivery_spec(call.config.fault_injection)
        if spec is not None:
            _apply(call, event.bookingId, spec)
        return fn(call, event)

    return wrapper


@dataclass(frozen=True)
class PerDelivery:
    """The per-delivery faults of the switch."""

    fail_first: int = 0  # failDeliveries
    pause_seconds: float = 0.0  # pauseSeconds
    pause_once: bool = False  # pauseOnce

    @property
    def counts(self) -> bool:
        """Whether this event's deliveries must be counted to apply the faults."""
        return self.fail_first > 0 or self.pause_once

    def fails(self, delivery: int) -> bool:
        return delivery <= self.fail_first

    def pauses(self, delivery: int | None) -> bool:
        return self.pause_seconds > 0 and (not self.pause_once or delivery == 1)


def marker_key(booking_id: str) -> dict[str, dict[str, str]]:
    """The item that counts the deliveries of one booking event."""
    return {"PK": {"S": f"FAULT#{booking_id}"}, "SK": {"S": "DELIVERIES"}}


def _apply(call: Invocation, booking_id: str, spec: PerDelivery) -> None:
    delivery = _count(call, booking_id) if spec.counts else None
    if delivery is not None and spec.fails(delivery):
        message = f"FAULT_INJECTION: failing delivery {delivery} of the first {spec.fail_first}"
        call.log.error("injected fault", error=message, delivery=delivery)
        raise InjectedFault(message)
    if spec.pauses(delivery):
        call.log.warning(
            "fault switch: pausing before any write",
            seconds=spec.pause_seconds,
            delivery=delivery,
            pid=os.getpid(),
        )
        time.sleep(spec.pause_seconds)
        call.log.info("fault switch: pause over")


def _count(call: Invocation, booking_id: str) -> int:
    """Count this delivery in the event's marker item; return its number (1 for the first)."""
    counted = aws.client("dynamodb").update_item(
        TableName=call.config.need("table_name"),
        Key=marker_key(booking_id),
        UpdateExpression="ADD deliveries :one SET itemType = :type, lastDeliveryAt = :now, "
        "pid = :pid, requestId = :request",
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":type": {"S": MARKER_TYPE},
            ":now": {"S": clock.iso(clock.now())},
            ":pid": {"N": str(os.getpid())},
            ":request": {"S": str(getattr(call.context, "aws_request_id", ""))},
        },
        ReturnValues="UPDATED_NEW",
    )
    return int(counted["Attributes"]["deliveries"]["N"])


def _spec(raw: str) -> dict[str, Any] | None:
    """The switch as a dict, None when off; a malformed switch raises :class:`InjectedFault`."""
    if not raw:
        return None
    try:
        spec: Any = json.loads(raw)
    except ValueError as exc:
        raise InjectedFault(f"FAULT_INJECTION is malformed ({exc}): {raw!r}") from None
    if not isinstance(spec, dict):
        raise InjectedFault(f"FAULT_INJECTION is malformed (must be a JSON object): {raw!r}")
    return spec


def _malformed(raw: str, why: str) -> InjectedFault:
    return InjectedFault(f"FAULT_INJECTION is malformed ({why}): {raw!r}")


def check(raw: str, now: datetime | None = None) -> None:
    """Raise :class:`InjectedFault` when the switch ``raw`` says this call must fail, or when
    it is malformed (its per-delivery options included)."""
    spec = _spec(raw)
    if spec is None:
        return
    if spec.get("fail") is True:
        raise InjectedFault("FAULT_INJECTION: permanent failure")
    until = spec.get("failUntil")
    if until is not None:
        try:
            moment = clock.parse(str(until))
        except ValueError as exc:
            raise _malformed(raw, str(exc)) from None
        if moment > (now or clock.now()):
            raise InjectedFault(f"FAULT_INJECTION: failing until {until}")
    per_delivery_spec(raw)


def per_delivery_spec(raw: str) -> PerDelivery | None:
    """The per-delivery faults the switch asks for, or None; malformed ones raise."""
    spec = _spec(raw)
    if spec is None or not {"failDeliveries", "pauseSeconds", "pauseOnce"} & spec.keys():
        return None
    fail_first = spec.get("failDeliveries", 0)
    seconds = spec.get("pauseSeconds", 0)
    once = spec.get("pauseOnce", False)
    if isinstance(fail_first, bool) or not isinstance(fail_first, int) or fail_first < 0:
        raise _malformed(raw, "failDeliveries must be a whole number >= 0")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= MAX_PAUSE_SECONDS
    ):
        raise _malformed(raw, f"pauseSeconds must be a number in [0, {MAX_PAUSE_SECONDS:.0f}]")
    if not isinstance(once, bool) or (once and not seconds):
        raise _malformed(raw, "pauseOnce must be a boolean, with pauseSeconds")
    return PerDelivery(fail_first=fail_first, pause_seconds=float(seconds), pause_once=once)
