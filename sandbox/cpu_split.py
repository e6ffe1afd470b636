"""LocalStack on a core of its own; the processes it starts on the other cores.

LocalStack serves every AWS API from one Python process: one GIL, so never more than one
core of work, and under load the core the whole app waits on. Spread over several cores, its
70-odd threads hand the GIL to each other across cores (a thread woken on another core often
finds it taken again and sleeps) and keep moving between cores, whose caches they share with
DynamoDB Local and the function processes. On one core of its own a booking costs less CPU
and the machine completes more of them: docs/performance.md, "A core for LocalStack", has the
measurements.

Who does what: the runner starts LocalStack on its core (:func:`for_this_process`, in the
child before exec) and tells it the others (:data:`HELPER_CPUS_ENV`). Inside LocalStack, the
thread that spawns function processes (``sandbox.lambda_executor.process``) and each thread
that runs a server as a process (:func:`install`: DynamoDB Local here) move to those cores
first, so that what they start runs there (a child inherits the affinity of the thread that
forks it). The core is not LocalStack's alone: the rest of the machine (the test runner, the
load driver, your editor) is not placed. ``SKYBOOK_CPU_SPLIT=0`` turns it off; with one
usable CPU there is nothing to split. Linux only, like the sandbox.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)
SETTING = "SKYBOOK_CPU_SPLIT"  # "1" (the default) or "0"
HELPER_CPUS_ENV = "SKYBOOK_HELPER_CPUS"  # set by the runner for LocalStack's process


@dataclass(frozen=True)
class Split:
    """Which CPUs LocalStack runs on, and which the processes it starts."""

    localstack: frozenset[int]
    helpers: frozenset[int]

    def as_record(self) -> dict[str, list[int]]:
        return {"localstack": sorted(self.localstack), "helpers": sorted(self.helpers)}

    def env(self) -> dict[str, str]:
        """What LocalStack's process is told (read by :func:`helper_cpus`)."""
        return {HELPER_CPUS_ENV: ",".join(map(str, sorted(self.helpers)))}


def wanted(value: str) -> bool:
    """Whether :data:`SETTING`'s value asks for the split (unset: yes)."""
    value = value.strip()
    if value in ("", "1"):
        return True
    if value == "0":
        return False
    raise ValueError(
        f"{SETTING}={value!r} is not 0 or 1: use 1 (the default: LocalStack on a core of its "
        "own) or 0 (every process on every core)"
    )


def plan(available: set[int] | frozenset[int]) -> Split | None:
    """The last usable CPU for LocalStack, the others for what it starts; None below two.

    The last, because on many machines CPU 0 takes more of the interrupts and housekeeping.
    """
    if len(available) < 2:
        return None
    mine = max(available)
    return Split(localstack=frozenset({mine}), helpers=frozenset(available - {mine}))


def for_this_process() -> Split | None:
    """The split of the CPUs this process may use (a cpuset or ``taskset`` may allow fewer
    than the machine has)."""
    return plan(os.sched_getaffinity(0))


def helper_cpus() -> frozenset[int] | None:
    """Inside LocalStack: the helpers' CPUs the runner chose, or None (no split)."""
    raw = os.environ.get(HELPER_CPUS_ENV, "").strip()
    if not raw:
        return None
    try:
        return frozenset(int(cpu) for cpu in raw.split(","))
    except ValueError:
        LOG.warning("%s=%r is not a list of CPU numbers: no CPU split", HELPER_CPUS_ENV, raw)
        return None


def move_this_thread_to_helpers() -> None:
    """Moves the calling thread (only it: Linux affinity is per thread) to the helpers' CPUs,
    so that the threads and processes it starts from now on start there."""
    if (cpus := helper_cpus()) is None:
        return
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as e:  # CPUs taken away since the start (a cgroup's cpuset, say)
        LOG.warning("could not move a thread to CPUs %s: %s", sorted(cpus), e)


def install() -> None:
    """Inside LocalStack: the servers it runs as processes start on the helpers' CPUs.

    LocalStack runs each (DynamoDB Local; kinesis-mock and OpenSearch too, were they among the
    services) in a ``ShellCommandThread`` of its own, which starts it and starts it again
    when it exits. No seam for it: ``ShellCommandThread.run_cmd`` is wrapped, so that the
    thread moves to the helpers' CPUs before it starts anything.
    """
    if helper_cpus() is None:
        return
    from localstack.utils.run import ShellCommandThread

    ShellCommandThread.run_cmd = _moved_first(ShellCommandThread.run_cmd)  # type: ignore[method-assign]


def _moved_first(run: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        move_this_thread_to_helpers()
        return run(*args, **kwargs)

    return wrapper
