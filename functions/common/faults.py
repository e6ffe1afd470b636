"""A tiny fault switch for reliability tests; off unless ``FAULT_INJECTION`` is set.

Whole-call faults, checked before anything else:

* ``{"failUntil": "<ISO time>"}`` fails every invocation until that time (an outage);
* ``{"fail": true}`` always fails (a permanent one: events end in the on-failure queue).

Per-delivery faults, for one booking event at a time (the handler counts the deliveries of
each event in a marker item, see registerBooking); they make retry tests deterministic:

* ``{"failDeliveries": N}`` fails the first N deliveries of each event (a transient fault:
  with Lambda's 2 async retries, N <= 2 ends in success, N >= 3 in the on-failure queue);
* ``{"pauseSeconds": S}`` sleeps S seconds before any write, which gives a test time to kill
  the process in the middle of an invocation; with ``"pauseOnce": true`` only the first
  delivery pauses, so the retry after the kill runs straight through.

Production never sets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import clock

MAX_PAUSE_SECONDS = 900.0  # Lambda's longest timeout: a longer pause is surely a typo


class InjectedFault(RuntimeError):
    """Raised on purpose by the fault switch."""


@dataclass(frozen=True)
class PerDelivery:
    """The per-delivery faults of the switch."""

    fail_first: int = 0  # failDeliveries
    pause_seconds: float = 0.0  # pauseSeconds
    pause_once: bool = False  # pauseOnce

    @property
    def counts(self) -> bool:
        """Whether the handler must count this event's deliveries to apply the faults."""
        return self.fail_first > 0 or self.pause_once

    def fails(self, delivery: int) -> bool:
        return delivery <= self.fail_first

    def pauses(self, delivery: int | None) -> bool:
        return self.pause_seconds > 0 and (not self.pause_once or delivery == 1)


def _spec(raw: str) -> dict[str, Any] | None:
    """The switch as a dict, None when off; a malformed switch raises :class:`InjectedFault`.

    A malformed switch raises because it only exists in tests, where silence would hide a typo.
    """
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
    """Raise :class:`InjectedFault` when the switch ``raw`` says this call must fail."""
    spec = _spec(raw)
    if spec is None:
        return
    if spec.get("fail") is True:
        raise InjectedFault("FAULT_INJECTION: permanent failure")
    until = spec.get("failUntil")
    if until is None:
        return
    try:
        moment = clock.parse(str(until))
    except ValueError as exc:
        raise _malformed(raw, str(exc)) from None
    if moment > (now or clock.now()):
        raise InjectedFault(f"FAULT_INJECTION: failing until {until}")


def per_delivery(raw: str) -> PerDelivery | None:
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
