"""How busy the machine was during a run: on a shared 2-core box the throughput means little
without it."""

from __future__ import annotations

import os
import time
from typing import Any

import psutil


def _machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot; iowait counts as idle."""
    times = psutil.cpu_times()
    # guest time is already counted in user time (as psutil's own cpu_percent does).
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def _allowed_cpus(pid: int) -> list[int] | None:
    """The CPUs a process's main thread may run on (the sandbox gives LocalStack one of its
    own); None once it is gone."""
    try:
        return sorted(os.sched_getaffinity(pid))
    except OSError:
        return None


def _process_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (not its children); None once it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


class CpuMeter:
    """Machine busy share and named processes' CPU use between start and :meth:`report`."""

    def __init__(self, pids: dict[str, int] | None = None) -> None:
        self.pids = pids or {}
        self.machine = _machine_seconds()
        self.processes = {name: _process_seconds(pid) for name, pid in self.pids.items()}
        self.started = time.monotonic()

    def report(self) -> dict[str, Any]:
        busy, total = _machine_seconds()
        d_busy, d_total = busy - self.machine[0], total - self.machine[1]
        wall = time.monotonic() - self.started
        result: dict[str, Any] = {
            "cpus": os.cpu_count(),
            "machineBusyPercent": round(100 * d_busy / d_total, 1) if d_total else None,
            "loadAverage1m": round(os.getloadavg()[0], 2),
        }
        for name, pid in self.pids.items():
            before, after = self.processes[name], _process_seconds(pid)
            if before is not None and after is not None:
                result[f"{name}CpuPercentOfOneCore"] = round(100 * (after - before) / wall, 1)
            result[f"{name}Cpus"] = _allowed_cpus(pid)
        return result
