"""The event flow keeps up with the API: a request to an API waits while the app's
asynchronous work is behind.

Why: on AWS the API and the event flow behind it scale each on its own; here they share
LocalStack's one process (one core, see docs/performance.md). Left alone, the 20 clients of
``./scripts/load`` take the core first: the API accepts bookings faster than the event flow
completes them, the difference queues in Lambda's async event queues for as long as the load
lasts, and a receipt arrives 10 s and more after its booking. That lag is the sandbox's, not
the app's, and it teaches the wrong lesson about an event-driven design. So while
``SKYBOOK_FLOW_BACKLOG`` (default 8) or more asynchronous Lambda invocations are queued or
running, or API_IN_FLIGHT API requests are in their integrations, an API Gateway request waits
before it calls its integration, first come first served, at most MAX_WAIT_S. The clients
slow to what the whole app can complete, an event is handled soon after it was sent, and
the API's latency stays even (the waiting is shared fairly).

What changes against AWS: timing. Every answer, every event and its order stay as they were;
an API request under a backlog answers later (on AWS it would not wait; a real overload would
throttle it with a 429 instead). One case is more than timing: a function that calls an API
of the sandbox over HTTP while the gate is shut waits too (it is itself counted, running),
at most MAX_WAIT_S per call, which a short function timeout may not allow. No function of the
app does that; ``SKYBOOK_FLOW_BACKLOG=0`` (or ``SKYBOOK_SPEEDUPS=-flow_first``) turns the gate
off.

Counted: Lambda invocations of type ``Event`` from ``enqueue_event`` until
``LambdaVersionManager.invoke`` returns for them, by request id. A retry is not counted: the
poller re-queues it with a delay, past ``enqueue_event``. The entries of a version whose event
manager stops (its function deleted) are dropped, and as a last resort any entry older than
STALE_S. There is no seam for either end, so this module wraps ``enqueue_event`` and ``stop``
of ``LambdaEventManager``, ``LambdaVersionManager.invoke`` and API Gateway's
``IntegrationHandler.__call__`` (each calls the original unchanged). Installed once at
LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import collections
import functools
import logging
import threading
import time
from typing import Any

from sandbox.settings import number_setting

LOG = logging.getLogger(__name__)

BACKLOG_ENV = "SKYBOOK_FLOW_BACKLOG"
DEFAULT_BACKLOG = 8
MAX_WAIT_S = 2.0
IN_FLIGHT_ENV = "SKYBOOK_FLOW_API_IN_FLIGHT"
API_IN_FLIGHT = 6  # API requests in their integration at once (the gate's second bound)
STALE_S = 300.0


class _Waiter:
    """One condition per waiting request: a release wakes the first in line only (FIFO, and
    one GIL hand-off instead of every waiter's)."""

    __slots__ = ("go", "woken")

    def __init__(self, lock: threading.Lock) -> None:
        self.go = False
        self.woken = threading.Condition(lock)


class Backlog:
    """Asynchronous invocations not handled yet, and a gate for API requests: one passes
    while fewer than ``limit`` invocations are pending and fewer than ``in_flight_limit``
    API requests are in their integration; first come, first served.

    FIFO, because a request that arrives while others wait and overtakes them makes their
    wait the API's tail. The in-flight bound, because the backlog counts events only once
    they are sent: after a lull every waiting request would pass at once and their events
    arrive together (at the start of a load run: 20 bookings, 40 invocations, the gate then
    shut for seconds)."""

    def __init__(self, limit: int, in_flight_limit: int = API_IN_FLIGHT) -> None:
        self.limit = limit
        self.in_flight_limit = in_flight_limit
        self.in_flight = 0  # API requests let through and not yet answered (under _lock)
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[float, object]] = {}  # request id -> (queued at, owner)
        self._waiters: collections.deque[_Waiter] = collections.deque()

    def add(self, request_id: str, owner: object = None) -> None:
        with self._lock:
            self._pending[request_id] = (time.monotonic(), owner)

    def done(self, request_id: str) -> None:
        with self._lock:
            if self._pending.pop(request_id, None) is not None:
                self._let_go()

    def drop_owner(self, owner: object) -> None:
        """Forget the invocations of one owner (an event manager that stopped for good)."""
        with self._lock:
            for request_id in [r for r, (_, o) in self._pending.items() if o is owner]:
                del self._pending[request_id]
            self._let_go()

    def __len__(self) -> int:
        return len(self._pending)

    def enter(self, timeout: float) -> float:
        """An API request waits for its turn (at most ``timeout``, then it goes anyway); the
        seconds waited. Every ``enter`` is followed by one :meth:`leave`."""
        started = time.monotonic()
        with self._lock:
            if not self._waiters and self._open():
                self.in_flight += 1
                return 0.0
            me = _Waiter(self._lock)
            self._waiters.append(me)
            deadline = started + timeout
            try:
                while not me.go:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._waiters.remove(me)
                        self.in_flight += 1
                        break
                    me.woken.wait(remaining)
            except BaseException:  # interrupted: neither queued nor counted afterwards
                if me.go:
                    self.in_flight -= 1
                    self._let_go()
                else:
                    self._waiters.remove(me)
                raise
        return time.monotonic() - started

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self._let_go()

    def _open(self) -> bool:
        return self.in_flight < self.in_flight_limit and not self._full()

    def _let_go(self) -> None:
        """Waiters go, first first, while the gate is open (the lock held)."""
        while self._waiters and self._open():
            waiter = self._waiters.popleft()
            waiter.go = True
            self.in_flight += 1
            waiter.woken.notify()

    def _full(self) -> bool:
        if len(self._pending) < self.limit:
            return False
        stale = time.monotonic() - STALE_S
        for request_id in [r for r, (queued, _) in self._pending.items() if queued < stale]:
            del self._pending[request_id]
        return len(self._pending) >= self.limit


def backlog_limit() -> int:
    return max(0, number_setting(BACKLOG_ENV, DEFAULT_BACKLOG, int))


def in_flight_limit() -> int:
    return max(1, number_setting(IN_FLIGHT_ENV, API_IN_FLIGHT, int))


@functools.cache  # once per process: installing twice would wrap twice
def install() -> Backlog | None:
    limit = backlog_limit()
    if limit == 0:
        return None
    from localstack.services.apigateway.next_gen.execute_api.handlers import integration
    from localstack.services.lambda_.invocation import event_manager, version_manager

    backlog = Backlog(limit, in_flight_limit())
    manager = event_manager.LambdaEventManager
    enqueue, stop = manager.enqueue_event, manager.stop
    invoke = version_manager.LambdaVersionManager.invoke
    integrate = integration.IntegrationHandler.__call__

    @functools.wraps(enqueue)
    def enqueue_event(self: Any, invocation: Any) -> None:
        backlog.add(invocation.request_id, owner=self)
        try:
            enqueue(self, invocation)
        except BaseException:
            backlog.done(invocation.request_id)
            raise

    @functools.wraps(stop)
    def stop_and_forget(self: Any) -> None:
        try:
            stop(self)
        finally:
            backlog.drop_owner(self)

    @functools.wraps(invoke)
    def invoke_counted(self: Any, invocation: Any) -> Any:
        try:
            return invoke(self, invocation=invocation)
        finally:
            if invocation.invocation_type == "Event":
                backlog.done(invocation.request_id)

    @functools.wraps(integrate)
    def integrate_when_caught_up(self: Any, chain: Any, context: Any, response: Any) -> Any:
        if backlog.enter(MAX_WAIT_S) >= MAX_WAIT_S:
            LOG.debug("an API request went ahead with %d events behind", len(backlog))
        try:
            return integrate(self, chain, context, response)
        finally:
            backlog.leave()

    manager.enqueue_event = enqueue_event
    manager.stop = stop_and_forget
    version_manager.LambdaVersionManager.invoke = invoke_counted
    integration.IntegrationHandler.__call__ = integrate_when_caught_up
    return backlog
