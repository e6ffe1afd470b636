"""Waiting with a deadline: the first truthy answer, or the caller's outcome at the deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from skybook import polling


def test_returns_the_first_truthy_value_without_sleeping_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: Iterator[Any] = iter([None, [], 0, "ready", "later"])
    sleeps: list[float] = []
    monkeypatch.setattr(polling.time, "sleep", sleeps.append)
    value = polling.poll(lambda: next(answers), deadline=time.monotonic() + 60, interval=0.25)
    assert value == "ready"
    assert sleeps == [0.25, 0.25, 0.25]


def test_checks_once_even_past_the_deadline_then_gives_none() -> None:
    calls: list[int] = []
    assert polling.poll(lambda: calls.append(1), deadline=0.0, interval=10) is None
    assert calls == [1]
    assert polling.poll(lambda: "now", deadline=0.0, interval=10) == "now"


def test_wait_for_raises_the_callers_error_at_the_deadline() -> None:
    with pytest.raises(LookupError, match="nothing came"):
        polling.wait_for(
            lambda: None, timeout=0.05, interval=0.01, error=LookupError("nothing came")
        )
    assert polling.wait_for(lambda: 3, timeout=0, interval=1, error=LookupError()) == 3
