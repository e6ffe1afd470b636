"""At most N on-demand execution environments per function version: an invocation that finds
them all busy waits for one to be free instead of starting another; and after a burst the
surplus idle environments stop after SURPLUS_IDLE_S, one per version staying warm.

Why: AWS starts one environment per concurrent request (up to the function's reserved
concurrency, else the account's 1000) and keeps each warm for minutes. Here an environment is
a process of 40-50 MB on the user's machine, and under load (``./scripts/load``: 20 clients)
LocalStack 4.14 started one per waiting request: 20 of bookFlight, 6 of each async function
(its event poller's thread pool), 2.1 GB in 34 processes after a run. Those extra
environments bring nothing: the invocations in them wait on the same single LocalStack
process. A waiting invocation
keeps its request open (no throttling error, nothing lost or run twice); it waits at most
``WAIT_LIMIT_S`` (then it gets a new environment, as on AWS: a function that synchronously
invokes itself cannot deadlock). Set ``SKYBOOK_LAMBDA_MAX_ENVIRONMENTS`` to change N (0: no
bound, as LocalStack does). Reserved concurrency still bounds a function below N (LocalStack
throttles beyond it), and provisioned environments are not counted.

Reaping: AWS keeps every environment of a burst warm for minutes (LocalStack: the
``LAMBDA_KEEPALIVE_MS`` of 10 minutes each); on AWS they cost the user nothing, here each holds
40-50 MB. So an environment released while another of its version is already idle stops after
``SKYBOOK_LAMBDA_SURPLUS_IDLE_S`` (default 10 s; 0 for no reaping) unused; the last idle one
keeps LocalStack's keepalive. What changes against AWS: a second burst minutes later pays cold
starts for all but one environment (35-50 ms each here).

There is no seam for this: LocalStack's ``AssignmentService.get_environment`` starts a new
environment whenever none is idle, and ``ExecutionEnvironment.release`` arms the keepalive.
This module replaces ``get_environment`` with the same steps (reserve an idle environment,
else start one) plus the bound, and shortens the keepalive of a surplus environment after
its release; installed by the executor plugin (``install()`` is idempotent).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sandbox.settings import number_setting

LOG = logging.getLogger(__name__)

LIMIT_ENV = "SKYBOOK_LAMBDA_MAX_ENVIRONMENTS"
DEFAULT_LIMIT = 3
WAIT_LIMIT_S = 10.0  # then start one more environment rather than wait on
RECHECK_S = 0.5  # environments also go away without a release (stop, timeout)
SURPLUS_IDLE_ENV = "SKYBOOK_LAMBDA_SURPLUS_IDLE_S"
DEFAULT_SURPLUS_IDLE_S = 10.0


def limit() -> int | None:
    """The bound per function version, None for none."""
    value = number_setting(LIMIT_ENV, DEFAULT_LIMIT, int)
    return value if value > 0 else None


def surplus_idle_s() -> float:
    """How long a surplus idle environment is kept; 0 (or less) for no reaping."""
    return number_setting(SURPLUS_IDLE_ENV, DEFAULT_SURPLUS_IDLE_S, float)


# One surplus decision at a time: two environments whose timers fire together must not each
# find the other idle and both stop.
_REAP_LOCK = threading.Lock()


def _other_idle(service: Any, manager_id: str, env: Any) -> bool:
    """Another on-demand environment of the version is idle (provisioned ones do not count)."""
    from localstack.services.lambda_.invocation.execution_environment import RuntimeStatus

    return any(
        other is not env
        and other.initialization_type == env.initialization_type
        and other.status == RuntimeStatus.READY
        for other in list(service.environments.get(manager_id, {}).values())
    )


def _arm_if_idle(env: Any, seconds: float, callback: Any, *args: Any) -> None:
    """Replace the environment's keepalive timer (the module's ``Timer``, whichever it is),
    only while it is idle: ``reserve()`` cancels the timer it finds, so one armed after a
    reserve would outlive it and stop the environment early."""
    from localstack.services.lambda_.invocation import execution_environment
    from localstack.services.lambda_.invocation.execution_environment import RuntimeStatus

    with env.status_lock:
        if env.status != RuntimeStatus.READY:
            return
        env.keepalive_timer.cancel()
        env.keepalive_timer = execution_environment.Timer(seconds, callback, args=list(args))
        env.keepalive_timer.start()


def shorten_if_surplus(service: Any, manager_id: str, env: Any, idle_s: float) -> None:
    """Just released: if another environment of the version is idle, this one is surplus."""
    from localstack.services.lambda_.invocation.lambda_models import InitializationType

    if idle_s <= 0 or env.initialization_type != InitializationType.on_demand:
        return
    with _REAP_LOCK:
        if _other_idle(service, manager_id, env):
            _arm_if_idle(env, idle_s, _surplus_passed, service, manager_id, env)


def _surplus_passed(service: Any, manager_id: str, env: Any) -> None:
    """Stop it if still surplus; if it became the last idle one, it gets the full keepalive."""
    from localstack import config
    from localstack.services.lambda_.invocation.execution_environment import RuntimeStatus

    with _REAP_LOCK:
        if env.status != RuntimeStatus.READY:
            return  # reserved meanwhile (reserve() cancels the timer; this one had already fired)
        if _other_idle(service, manager_id, env):
            env.keepalive_passed()  # LocalStack's own stop, with its status checks
        else:
            _arm_if_idle(env, config.LAMBDA_KEEPALIVE_MS / 1000, env.keepalive_passed)


class _Bound:
    """Per assignment service: who waits for an environment of which version, and how many
    are being started. One condition per version: a release wakes one of its own waiters,
    not every waiting invocation of every function (each wake-up costs LocalStack a GIL
    hand-off)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.waiting: dict[str, threading.Condition] = {}  # version manager id -> condition
        self.starting: Counter[str] = Counter()  # version manager id -> environments starting

    def _cond(self, manager_id: str) -> threading.Condition:
        cond = self.waiting.get(manager_id)
        if cond is None:
            cond = self.waiting[manager_id] = threading.Condition(self.lock)
        return cond

    def acquire(self, service: Any, manager_id: str, version: Any, kind: Any) -> Any:
        """A reserved environment: an idle one, or a new one while fewer than the limit exist
        (or the wait was too long)."""
        from localstack.services.lambda_.invocation.execution_environment import (
            InvalidStatusException,
        )

        bound = self.limit
        deadline = time.monotonic() + WAIT_LIMIT_S
        with self.lock:
            cond = self._cond(manager_id)
            while True:
                envs = [
                    e
                    for e in list(service.environments[manager_id].values())
                    if e.initialization_type == kind
                ]
                for env in envs:
                    try:
                        env.reserve()
                        return env
                    except InvalidStatusException:
                        pass
                remaining = deadline - time.monotonic()
                if bound is None or len(envs) + self.starting[manager_id] < bound:
                    break
                if remaining <= 0:
                    LOG.debug(
                        "No environment of %s free in %.0fs: one more", manager_id, WAIT_LIMIT_S
                    )
                    break
                cond.wait(min(RECHECK_S, remaining))
            self.starting[manager_id] += 1
        try:
            env = service.start_environment(manager_id, version)
            service.environments[manager_id][env.id] = env
            env.reserve()
            return env
        finally:
            with self.lock:
                self.starting[manager_id] -= 1
                if self.starting[manager_id] <= 0:
                    del self.starting[manager_id]
                cond.notify()

    def released(self, manager_id: str) -> None:
        """An environment of this version is free (or gone): one waiter may have it."""
        with self.lock:
            if cond := self.waiting.get(manager_id):
                cond.notify()


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.services.lambda_.invocation import assignment
    from localstack.services.lambda_.invocation.execution_environment import (
        InvalidStatusException,
    )
    from localstack.services.lambda_.invocation.lambda_models import InitializationType

    service_cls = assignment.AssignmentService
    original = service_cls.get_environment
    max_environments, idle_s = limit(), surplus_idle_s()  # read once: LocalStack's start env
    bounds: dict[int, _Bound] = {}
    bounds_lock = threading.Lock()

    def bound_of(service: Any) -> _Bound:
        with bounds_lock:
            return bounds.setdefault(id(service), _Bound(max_environments))

    @contextlib.contextmanager
    def get_environment(
        self: Any, version_manager_id: str, function_version: Any, provisioning_type: Any
    ) -> Iterator[Any]:
        if provisioning_type == InitializationType.provisioned_concurrency:
            with original(self, version_manager_id, function_version, provisioning_type) as env:
                yield env
            return
        bound = bound_of(self)
        env = bound.acquire(self, version_manager_id, function_version, provisioning_type)
        # From here on as LocalStack's own get_environment.
        try:
            yield env
            env.release()
            shorten_if_surplus(self, version_manager_id, env, idle_s)
        except InvalidStatusException as invalid_e:
            LOG.error("InvalidStatusException: %s", invalid_e)
        except Exception as e:
            LOG.error(
                "Failed invocation <%s>: %s", type(e), e, exc_info=LOG.isEnabledFor(logging.DEBUG)
            )
            self.stop_environment(env)
            raise e
        finally:
            bound.released(version_manager_id)

    service_cls.get_environment = get_environment
