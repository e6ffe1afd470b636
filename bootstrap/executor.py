"""Carry out a plan's steps, in order, against a target.

Each step resolves its references (ARNs, the API id) from what earlier steps created, so
a fresh account is deployed in one pass. Waits have deadlines: a resource stuck in a
pending state fails the step with a message instead of hanging the deploy.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bootstrap.resources import kind_of
from bootstrap.resources.base import Context
from bootstrap.steps import Create, Delete, Step, Update
from bootstrap.target import Target

Progress = Callable[[str], None]


def stderr_progress(text: str) -> None:
    print(text, file=sys.stderr, end="", flush=True)


class Executor:
    """Applies steps; ``known`` is updated with the attributes of what it creates."""

    def __init__(
        self,
        target: Target,
        stack: str,
        known: dict[str, str],
        *,
        progress: Progress = stderr_progress,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wait_timeout: float = 180.0,
        role_propagation_timeout: float = 120.0,
    ) -> None:
        self.known = known
        self.progress = progress
        # ``clock`` sets the deadlines of retries; tests fake it together with ``sleep``.
        self.ctx = Context(
            target,
            stack,
            known,
            sleep=sleep,
            clock=clock,
            wait_timeout=wait_timeout,
            role_propagation_timeout=role_propagation_timeout,
        )

    def execute(self, steps: list[Step]) -> list[Step]:
        """Run every change step (no-change steps only lend their attributes)."""
        todo = [s for s in steps if s.is_change]
        done: list[Step] = []
        for index, step in enumerate(todo, start=1):
            self.progress(f"[{index}/{len(todo)}] {step.describe()} ...")
            started = time.monotonic()
            try:
                self.run(step)
            except Exception:
                self.progress(" failed\n")
                raise
            self.progress(f" done ({time.monotonic() - started:.1f}s)\n")
            done.append(step)
        return done

    def run(self, step: Step) -> None:
        kind = kind_of(step.kind)
        if isinstance(step, Delete):
            kind.delete(self.ctx, step)
        elif isinstance(step, Create):
            for attr, value in kind.create(self.ctx, step.resource).items():
                self.known[f"{step.name}.{attr}"] = value
        elif isinstance(step, Update):
            kind.update(self.ctx, step.resource, step.current, step.changes)
