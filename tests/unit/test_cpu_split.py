"""sandbox.cpu_split: which CPUs, and that threads and their children land there."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from sandbox import cpu_split
from sandbox.cpu_split import HELPER_CPUS_ENV, Split, plan

MINE = frozenset(os.sched_getaffinity(0))
needs_two = pytest.mark.skipif(len(MINE) < 2, reason="needs two usable CPUs")


def test_localstack_gets_the_last_cpu_and_its_helpers_the_others() -> None:
    assert plan({0, 1}) == Split(localstack=frozenset({1}), helpers=frozenset({0}))
    assert plan(frozenset({2, 5, 7})) == Split(frozenset({7}), frozenset({2, 5}))
    assert plan({3}) is None
    split = plan({0, 1, 2})
    assert split is not None
    assert split.env() == {HELPER_CPUS_ENV: "0,1"}
    assert split.as_record() == {"localstack": [2], "helpers": [0, 1]}


@pytest.mark.parametrize(
    ("value", "expected"), [("", None), ("0", {0}), (" 0,2 ", {0, 2}), ("0,x", None)]
)
def test_helper_cpus_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: set[int] | None
) -> None:
    monkeypatch.setenv(HELPER_CPUS_ENV, value)
    assert cpu_split.helper_cpus() == (None if expected is None else frozenset(expected))


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> Iterator[frozenset[int]]:
    """The first usable CPU as the helpers' (the calling thread's affinity restored after)."""
    chosen = frozenset({min(MINE)})
    monkeypatch.setenv(HELPER_CPUS_ENV, str(min(MINE)))
    yield chosen
    os.sched_setaffinity(0, MINE)


def _child_cpus() -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [int(cpu) for cpu in out.strip("[]\n").split(",")]


@needs_two
def test_a_thread_on_the_helpers_cpus_starts_its_processes_there(
    helpers: frozenset[int],
) -> None:
    seen: list[list[int]] = []

    def spawner() -> None:
        cpu_split.move_this_thread_to_helpers()
        seen.append(_child_cpus())

    thread = threading.Thread(target=spawner)
    thread.start()
    thread.join()
    assert seen == [sorted(helpers)]
    assert os.sched_getaffinity(0) == MINE  # only that thread moved


@needs_two
def test_a_block_on_the_helpers_cpus_gives_its_threads_those_and_then_restores(
    helpers: frozenset[int],
) -> None:
    seen: list[set[int]] = []

    def start() -> threading.Thread:
        thread = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
        thread.start()
        return thread

    cpu_split._started_on_helpers(start)().join()
    assert seen == [helpers]
    assert os.sched_getaffinity(0) == MINE


def test_without_a_split_nothing_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HELPER_CPUS_ENV, raising=False)
    cpu_split.move_this_thread_to_helpers()
    with cpu_split.on_helper_cpus():
        assert os.sched_getaffinity(0) == MINE
    assert _child_cpus() == sorted(MINE)
