"""bootstrap.retry: backoff, deadline and which errors are retried, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.unit.bootstrap.conftest import FakeTime


class Transient(Exception):
    pass


def flaky(failures: int, result: str = "ok") -> tuple[list[int], Callable[[], str]]:
    """A call failing ``failures`` times with Transient, then returning ``result``."""
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise Transient(f"attempt {len(calls)}")
        return result

    return calls, call


def test_retries_with_doubling_backoff_capped_at_max_delay(fake_time: FakeTime) -> None:
    from bootstrap.retry import retry

    calls, call = flaky(5)
    result = retry(
        call,
        retryable=lambda e: isinstance(e, Transient),
        timeout=100.0,
        max_delay=5.0,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    assert result == "ok" and len(calls) == 6
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_other_errors_are_not_retried(fake_time: FakeTime) -> None:
    from bootstrap.retry import retry

    def call() -> str:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        retry(
            call,
            retryable=lambda e: isinstance(e, Transient),
            timeout=100.0,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )
    assert fake_time.sleeps == []


def test_at_the_deadline_the_last_error_is_raised(fake_time: FakeTime) -> None:
    from bootstrap.retry import retry

    calls, call = flaky(1000)
    with pytest.raises(Transient):
        retry(
            call,
            retryable=lambda e: isinstance(e, Transient),
            timeout=20.0,
            delay=5.0,
            max_delay=5.0,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )
    assert fake_time.sleeps == [5.0, 5.0, 5.0, 5.0]  # tries at 0, 5, 10, 15 and 20 s
    assert len(calls) == 5


def test_gave_up_replaces_the_error_and_chains_it(fake_time: FakeTime) -> None:
    from bootstrap.retry import retry

    _calls, call = flaky(1000)
    with pytest.raises(RuntimeError, match="still failing") as raised:
        retry(
            call,
            retryable=lambda e: isinstance(e, Transient),
            timeout=3.0,
            gave_up=lambda e: RuntimeError(f"still failing: {e}"),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )
    assert isinstance(raised.value.__cause__, Transient)
    assert fake_time.sleeps == [1.0, 2.0]
