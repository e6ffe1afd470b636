"""A tiny fault switch for reliability tests; off unless ``FAULT_INJECTION`` is set.

``{"failUntil": "<ISO time>"}`` fails every invocation until that time (a transient
outage: async retries should then succeed); ``{"fail": true}`` always fails (a permanent
one: events should end in the DLQ/on-failure destination). Production never sets it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from common import clock


class InjectedFault(RuntimeError):
    """Raised on purpose by the fault switch."""


def check(raw: str, now: datetime | None = None) -> None:
    """Raise :class:`InjectedFault` when the switch ``raw`` says this call must fail.

    A malformed switch also raises: it only exists in tests, where silence would hide a typo.
    """
    if not raw:
        return
    try:
        spec: Any = json.loads(raw)
        if not isinstance(spec, dict):
            raise ValueError("must be a JSON object")
        if spec.get("fail") is True:
            raise InjectedFault("FAULT_INJECTION: permanent failure")
        until = spec.get("failUntil")
        if until is not None and clock.parse(str(until)) > (now or clock.now()):
            raise InjectedFault(f"FAULT_INJECTION: failing until {until}")
    except InjectedFault:
        raise
    except ValueError as exc:
        raise InjectedFault(f"FAULT_INJECTION is malformed ({exc}): {raw!r}") from None
