"""Resident memory of a sandbox's processes, by kind: the measure behind the kit's memory
goals (docs/performance.md), shared by the load run, the benchmark and the profiler."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import psutil

from sandbox.lambda_executor.environment_bound import DEFAULT_SURPLUS_IDLE_S


def process_kind(proc: psutil.Process, localstack_pid: int | None) -> str:
    """``localstack``, ``dynamodb-local``, ``function:<name>`` or ``other``."""
    if proc.pid == localstack_pid:
        return "localstack"
    try:
        if proc.name() == "java":
            return "dynamodb-local"
        name = proc.environ().get("AWS_LAMBDA_FUNCTION_NAME")
    except psutil.Error:
        return "other"
    return f"function:{name}" if name else "other"


def rss_mib(pids: Iterable[int]) -> float:
    """Resident memory of these processes together (those already gone count nothing)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return round(total / 2**20, 1)


def snapshot(pids: Iterable[int], localstack_pid: int | None) -> dict[str, Any]:
    """Total, process count and MiB by kind (functions together)."""
    by_kind: Counter[str] = Counter()
    count = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            by_kind[process_kind(proc, localstack_pid).split(":")[0]] += proc.memory_info().rss
            count += 1
    return {
        "totalMiB": round(sum(by_kind.values()) / 2**20),
        "processes": count,
        "byKindMiB": {kind: round(rss / 2**20) for kind, rss in sorted(by_kind.items())},
    }


def after_burst(
    pids: Callable[[], list[int]], localstack_pid: int | None, *, idle_s: float | None = None
) -> dict[str, Any]:
    """Memory at once, and once the surplus function environments of the burst stopped
    (polled until no more than one per function is left, or idle_s + 5 s passed)."""
    now = snapshot(pids(), localstack_pid)
    deadline = time.monotonic() + (DEFAULT_SURPLUS_IDLE_S if idle_s is None else idle_s) + 5
    started = time.monotonic()
    while time.monotonic() < deadline:
        functions = Counter(
            kind
            for pid in pids()
            if (kind := _kind_of(pid, localstack_pid)).startswith("function:")
        )
        if all(n <= 1 for n in functions.values()):
            break
        time.sleep(0.5)
    waited = time.monotonic() - started
    return {
        "atEnd": now,
        "afterReaping": snapshot(pids(), localstack_pid),
        "waitedS": round(waited, 1),
    }


def _kind_of(pid: int, localstack_pid: int | None) -> str:
    try:
        return process_kind(psutil.Process(pid), localstack_pid)
    except psutil.Error:
        return "gone"
