"""Percentiles by nearest rank: always a measured value, the p-th is the ceil(p% * n)-th."""

from __future__ import annotations

import pytest

from skybook.stats import percentile, summary


def test_nearest_rank_on_ten_values() -> None:
    values = [float(v) for v in (7, 3, 10, 1, 9, 2, 8, 4, 6, 5)]  # order does not matter
    assert [percentile(values, p) for p in (10, 50, 51, 90, 95, 99, 100)] == [
        1,
        5,
        6,
        9,
        10,
        10,
        10,
    ]


def test_the_median_of_an_even_count_is_the_lower_middle_value() -> None:
    # Not interpolated (2.5) and not the upper middle (3): a value that was measured.
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0


def test_one_value_is_every_percentile() -> None:
    assert {percentile([4.2], p) for p in (1, 50, 100)} == {4.2}


@pytest.mark.parametrize("pct", [0, -5, 100.5])
def test_a_percentile_outside_0_to_100_is_refused(pct: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], pct)


def test_no_values_has_no_percentile() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    assert summary([]) == {"p50": None, "p95": None, "p99": None, "max": None}


def test_summary_rounds_to_a_tenth_and_names_each_point() -> None:
    values = [float(v) + 0.04 for v in range(1, 21)]  # 1.04 ... 20.04
    assert summary(values) == {"p50": 10.0, "p95": 19.0, "p99": 20.0, "max": 20.0}
    assert summary(values, (50, 95)) == {"p50": 10.0, "p95": 19.0, "max": 20.0}
