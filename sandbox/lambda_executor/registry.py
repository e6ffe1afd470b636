"""The live execution environments of this LocalStack, per function.

Three things need to see across environments: the bound AWS puts on a function's
environments (its reserved concurrency), which environment may run under the debugger (one
port, so one at a time), and restarting environments whose code changed (hot reload).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from sandbox.devmode import DevFile

LOG = logging.getLogger(__name__)
REFRESH_INTERVAL_S = 0.1  # how often the dev file is checked for changes


class Environment(Protocol):
    id: str

    @property
    def function_name(self) -> str: ...

    def has_process(self) -> bool: ...

    def evict_if_idle(self) -> bool: ...

    def refresh_if_idle(self) -> None: ...


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._envs: dict[str, dict[str, Environment]] = {}
        self._debug_claims: dict[str, str] = {}  # function -> environment id
        self.dev = DevFile.from_env()
        self._refresher: threading.Thread | None = None

    def add(self, env: Environment) -> None:
        with self._lock:
            self._envs.setdefault(env.function_name, {})[env.id] = env
            if self._refresher is None and self.dev.path is not None:
                self._refresher = threading.Thread(
                    target=self._refresh_loop, name="skybook-lambda-dev", daemon=True
                )
                self._refresher.start()

    def remove(self, env: Environment) -> None:
        with self._lock:
            self._envs.get(env.function_name, {}).pop(env.id, None)
            if self._debug_claims.get(env.function_name) == env.id:
                del self._debug_claims[env.function_name]

    def make_room(self, me: Environment, limit: int | None) -> None:
        """Before ``me`` starts a process: stop idle ones of the same function until at most
        ``limit`` (its reserved concurrency) processes run with ``me``'s. Busy ones are left
        alone; LocalStack's concurrency lease already bounds how many can be busy."""
        if limit is None:
            return
        with self._lock:
            others = [e for e in self._envs.get(me.function_name, {}).values() if e is not me]
        running = [e for e in others if e.has_process()]
        excess = len(running) + 1 - limit
        for env in running:
            if excess <= 0:
                break
            if env.evict_if_idle():
                LOG.debug("Stopped idle environment %s: reserved concurrency %d", env.id, limit)
                excess -= 1

    def claim_debugger(self, me: Environment) -> bool:
        """Whether ``me`` may listen for the debugger: no other environment of its function does."""
        with self._lock:
            holder = self._debug_claims.get(me.function_name)
            if holder is None or holder == me.id:
                self._debug_claims[me.function_name] = me.id
                return True
            return False

    def release_debugger(self, me: Environment) -> None:
        with self._lock:
            if self._debug_claims.get(me.function_name) == me.id:
                del self._debug_claims[me.function_name]

    def _refresh_loop(self) -> None:
        """Restart idle environments whose code or debug setting changed, right away: the
        next invocation then finds new code already initialised (busy ones restart before
        their next invocation, see the executor)."""
        stop = threading.Event()
        last = None
        while not stop.wait(REFRESH_INTERVAL_S):
            state = self.dev.state()
            if state is last:
                continue
            last = state
            with self._lock:
                envs = [e for by_id in self._envs.values() for e in by_id.values()]
            for env in envs:
                try:
                    env.refresh_if_idle()
                except Exception:
                    LOG.exception("Restarting environment %s failed", env.id)


REGISTRY = Registry()
