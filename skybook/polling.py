"""Waiting for something to happen, with a deadline: the kit never sleeps a fixed time.

Callers say what happened (``check`` returns it, truthy) and what to do when the deadline
passes (:func:`poll` returns ``None``; :func:`wait_for` raises the caller's error).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(check: Callable[[], T | None], *, deadline: float, interval: float) -> T | None:
    """Call ``check`` until it returns something truthy, which is returned; ``None`` once
    ``time.monotonic()`` passes ``deadline``. ``check`` runs at least once."""
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def wait_for(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float,
    error: Exception,
) -> T:
    """:func:`poll` for ``timeout`` seconds from now; raises ``error`` when nothing came."""
    value = poll(check, deadline=time.monotonic() + timeout, interval=interval)
    if value is None:
        raise error
    return value
