"""Lambda's keepalive timers share one thread instead of starting one per invocation.

After every invocation LocalStack arms the environment's keepalive (``LAMBDA_KEEPALIVE_MS``,
stopping it when idle that long) with a new ``threading.Timer``, a thread that sleeps until
then, and cancels it when the environment is reserved again: one thread started and ended per
invocation, three per booking. This module gives LocalStack's execution environments a
``Timer`` with the same interface (``start``, ``cancel``, a function called once after
``interval`` seconds unless cancelled) kept in one scheduler thread; a timer that fires runs
its function on a thread of its own, as before, so a slow stop never delays another timer.

There is no seam for this; only the ``Timer`` name of LocalStack's
``execution_environment`` module is replaced (its keepalive and start-up timers), nothing
else. Installed once at LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any


class _Scheduler:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, SharedTimer]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, timer: SharedTimer) -> None:
        with self._cond:
            heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="skybook-lambda-timers", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)  # cancelled ones are dropped lazily
                if not self._heap:
                    self._cond.wait()
                    continue
                due, _, timer = self._heap[0]
                wait_s = due - time.monotonic()
                if wait_s > 0:
                    self._cond.wait(wait_s)
                    continue
                heapq.heappop(self._heap)
            timer.fire()


_SCHEDULER = _Scheduler()


def _nothing(*_args: Any, **_kwargs: Any) -> None:
    """What a cancelled timer would call."""


class SharedTimer:
    """``threading.Timer``'s interface as LocalStack uses it: start once, cancel any time."""

    def __init__(
        self,
        interval: float,
        function: Callable[..., Any],
        args: Any = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.interval = float(interval)
        self.function = function
        self.args = args if args is not None else []
        self.kwargs = kwargs if kwargs is not None else {}
        self.due = 0.0
        self.cancelled = False
        self._lock = threading.Lock()
        self._fired = False

    def start(self) -> None:
        self.due = time.monotonic() + self.interval
        _SCHEDULER.add(self)

    def cancel(self) -> None:
        self.cancelled = True
        # What the timer would have called goes at once: a cancelled keepalive stays in the
        # heap until its 10 minutes come (dropped lazily), but must not hold its environment
        # (executor, logs) that long.
        self.function = _nothing
        self.args, self.kwargs = [], {}

    def fire(self) -> None:
        with self._lock:
            if self.cancelled or self._fired:
                return
            self._fired = True
        threading.Thread(
            target=self.function, args=self.args, kwargs=self.kwargs, daemon=True
        ).start()


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.services.lambda_.invocation import execution_environment

    execution_environment.Timer = SharedTimer  # type: ignore[misc,assignment]
