"""Percentiles of measured times, one definition for every report (load, bench).

Nearest rank: the p-th percentile of n values is the smallest value with at least p % of
the values at or below it, the value of rank ``ceil(p / 100 * n)``. It is always a measured
value (no interpolation between two runs), and the 100th is the maximum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (0 < pct <= 100) of ``values`` by nearest rank."""
    if not values:
        raise ValueError("no values")
    if not 0 < pct <= 100:
        raise ValueError(f"percentile {pct} is not in (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def summary(
    values: Sequence[float], points: Sequence[float] = (50, 95, 99)
) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ..., "p99": ..., "max": ...}``, rounded to 0.1; ``None`` for no
    values."""
    keys = [f"p{p:g}" for p in points] + ["max"]
    if not values:
        return dict.fromkeys(keys)
    picked = [percentile(values, p) for p in points] + [max(values)]
    return {key: round(value, 1) for key, value in zip(keys, picked, strict=True)}
