"""LocalStack on a core of its own; the processes it starts on the other cores.

LocalStack serves every AWS API from one Python process: one GIL, so never more than one
core of work, and under load the core the whole app waits on. Spread over two cores, its
70-odd threads hand the GIL to each other across cores: a thread woken on the other core
often finds the GIL taken again and sleeps, and the threads keep moving between the cores,
sharing them (and their caches) with DynamoDB Local and the function processes. In a load run
its threads switched 10,900 times a second and moved between cores 1,200 times; on a core of
their own 3,600 and never (``/proc/<pid>/task/*/sched``). Interleaved load runs on two cores
gave more bookings per second with the split in 8 of 9 pairs, 29 % more in all
(docs/performance.md, "A core for LocalStack").

Who does what: the runner starts LocalStack on its core (:func:`plan`, ``preexec``) and tells
it the helpers' cores (:data:`HELPER_CPUS_ENV`); inside LocalStack, the thread that spawns
function processes (``sandbox.lambda_executor.process``) and the one that starts DynamoDB
Local (:func:`install`) move to those cores first, so their children start there (a child
inherits the affinity of the thread that forks it). ``SKYBOOK_CPU_SPLIT=0`` turns it off;
with one usable CPU there is nothing to split. Linux only, like the sandbox.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)
SETTING = "SKYBOOK_CPU_SPLIT"  # "1" (default) or "0"
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


def plan(available: set[int] | frozenset[int]) -> Split | None:
    """The last usable CPU for LocalStack, the others for its helpers; None below two CPUs.

    LocalStack needs one core at most (its GIL); everything else it starts can use the rest.
    """
    if len(available) < 2:
        return None
    mine = max(available)
    return Split(localstack=frozenset({mine}), helpers=frozenset(available - {mine}))


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
    so that the processes it starts from now on start there."""
    if (cpus := helper_cpus()) is not None:
        _set_this_thread(cpus)


@contextlib.contextmanager
def on_helper_cpus() -> Iterator[None]:
    """The calling thread on the helpers' CPUs for the block: threads and processes it starts
    there stay there."""
    cpus = helper_cpus()
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    _set_this_thread(cpus)
    try:
        yield
    finally:
        _set_this_thread(before)


def _set_this_thread(cpus: frozenset[int] | set[int]) -> None:
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as e:  # CPUs taken away since the start (a cgroup's cpuset, say)
        LOG.warning("could not move a thread to CPUs %s: %s", sorted(cpus), e)


def install() -> None:
    """Inside LocalStack: DynamoDB Local starts on the helpers' CPUs.

    LocalStack starts it (and restarts it) from a thread of its own, created in
    ``DynamodbServer.do_start_thread``; created on the helpers' CPUs, that thread forks the JVM
    there. No seam for it: that one method is wrapped.
    """
    if helper_cpus() is None:
        return
    from localstack.services.dynamodb.server import DynamodbServer

    DynamodbServer.do_start_thread = _started_on_helpers(DynamodbServer.do_start_thread)


def _started_on_helpers(start: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(start)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with on_helper_cpus():
            return start(*args, **kwargs)

    return wrapper
