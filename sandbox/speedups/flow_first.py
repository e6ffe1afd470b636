"""The event flow keeps up with the API: a request to an API waits while the app's
asynchronous work is behind.

Why: on AWS the API and the event flow behind it scale each on its own; here they share
LocalStack's one process (one core, see docs/performance.md). Left alone, the 20 clients of
``./scripts/load`` take the core first: the API accepts bookings faster than the event flow
completes them, the difference queues in Lambda's async event queues for as long as the load
lasts, and a receipt arrives 10 s and more after its booking. That lag is the sandbox's, not
the app's, and it teaches the wrong lesson about an event-driven design. So when more than
``SKYBOOK_FLOW_BACKLOG`` asynchronous Lambda invocations are queued or running, an API
Gateway request waits (at most MAX_WAIT_S) before it calls its integration: the clients slow
to what the whole app can complete, and an event is handled soon after it was sent.

What changes against AWS: only timing. Every answer, every event and its order stay as they
were; an API request under a backlog answers later (on AWS it would not wait, and a real
overload would throttle it with a 429 instead). ``SKYBOOK_FLOW_BACKLOG=0`` turns it off.

Counted: Lambda invocations of type ``Event`` from ``enqueue_event`` until LocalStack's
poller has handled them (run, retried later or given up), keyed by request id so that a
retry is not counted twice; entries older than STALE_S are dropped (a function deleted with
events queued). There is no seam for either end, so this module wraps
``LambdaEventManager.enqueue_event``, ``LambdaVersionManager.invoke`` and API Gateway's
``IntegrationHandler.__call__`` (each calls the original unchanged). Installed once at
LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from typing import Any

LOG = logging.getLogger(__name__)

BACKLOG_ENV = "SKYBOOK_FLOW_BACKLOG"
DEFAULT_BACKLOG = 8
MAX_WAIT_S = 5.0
STALE_S = 60.0


class Backlog:
    """Asynchronous invocations not handled yet, and a wait for them to drop below a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._changed = threading.Condition()
        self._pending: dict[str, float] = {}  # request id -> when it was queued

    def add(self, request_id: str) -> None:
        with self._changed:
            self._pending[request_id] = time.monotonic()

    def done(self, request_id: str) -> None:
        with self._changed:
            if self._pending.pop(request_id, None) is not None and (
                len(self._pending) < self.limit
            ):
                self._changed.notify_all()

    def __len__(self) -> int:
        return len(self._pending)

    def wait_until_below(self, timeout: float) -> float:
        """Block while the backlog is at its limit (at most ``timeout``); the seconds waited."""
        if len(self._pending) < self.limit:  # the common case, without the lock
            return 0.0
        started = time.monotonic()
        deadline = started + timeout
        with self._changed:
            while self._over_limit():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        return time.monotonic() - started

    def _over_limit(self) -> bool:
        if len(self._pending) < self.limit:
            return False
        stale = time.monotonic() - STALE_S
        for request_id in [r for r, queued in self._pending.items() if queued < stale]:
            del self._pending[request_id]
        return len(self._pending) >= self.limit


def backlog_limit() -> int:
    raw = os.environ.get(BACKLOG_ENV, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_BACKLOG
    except ValueError:
        LOG.warning("%s=%r is not a number: using %d", BACKLOG_ENV, raw, DEFAULT_BACKLOG)
        return DEFAULT_BACKLOG


@functools.cache  # once per process: installing twice would wrap twice
def install() -> Backlog | None:
    limit = backlog_limit()
    if limit == 0:
        return None
    from localstack.services.apigateway.next_gen.execute_api.handlers import integration
    from localstack.services.lambda_.invocation import event_manager, version_manager

    backlog = Backlog(limit)
    enqueue = event_manager.LambdaEventManager.enqueue_event
    invoke = version_manager.LambdaVersionManager.invoke
    integrate = integration.IntegrationHandler.__call__

    @functools.wraps(enqueue)
    def enqueue_event(self: Any, invocation: Any) -> None:
        backlog.add(invocation.request_id)
        try:
            enqueue(self, invocation)
        except BaseException:
            backlog.done(invocation.request_id)
            raise

    @functools.wraps(invoke)
    def invoke_counted(self: Any, invocation: Any) -> Any:
        try:
            return invoke(self, invocation=invocation)
        finally:
            if invocation.invocation_type == "Event":
                backlog.done(invocation.request_id)

    @functools.wraps(integrate)
    def integrate_when_caught_up(self: Any, chain: Any, context: Any, response: Any) -> Any:
        if backlog.wait_until_below(MAX_WAIT_S) >= MAX_WAIT_S:
            LOG.debug("an API request went ahead with %d events behind", len(backlog))
        return integrate(self, chain, context, response)

    event_manager.LambdaEventManager.enqueue_event = enqueue_event
    version_manager.LambdaVersionManager.invoke = invoke_counted
    integration.IntegrationHandler.__call__ = integrate_when_caught_up
    return backlog
