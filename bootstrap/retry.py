"""Retry one AWS call until it stops failing with a known-transient error, or a deadline.

AWS refuses some calls for a while after a related change (a new IAM role, a queue name
just deleted). Sleep and clock are both injected so unit tests run the whole backoff
without real waiting: a fake sleep alone would busy-wait on the real clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retry(
    call: Callable[[], T],
    *,
    retryable: Callable[[Exception], bool],
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    delay: float = 1.0,
    max_delay: float = 10.0,
    gave_up: Callable[[Exception], Exception] | None = None,
) -> T:
    """``call()``'s result, retrying while ``retryable(error)`` until ``timeout`` seconds.

    Waits ``delay`` seconds, doubling up to ``max_delay``. Other errors propagate at once.
    At the deadline the last error is raised as is, or ``gave_up(error)`` (chained to it)
    when given, so the caller can say what to do about it.
    """
    deadline = clock() + timeout
    while True:
        try:
            return call()
        except Exception as error:
            if not retryable(error):
                raise
            if clock() >= deadline:
                if gave_up is None:
                    raise
                raise gave_up(error) from error
        sleep(delay)
        delay = min(delay * 2, max_delay)
