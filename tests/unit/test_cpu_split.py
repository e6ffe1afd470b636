"""sandbox.cpu_split: which CPUs, and that threads and their children land there."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

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


def test_the_split_is_of_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cpuset or ``taskset`` may allow fewer CPUs than the machine has."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {4})
    assert cpu_split.for_this_process() is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {2, 6})
    assert cpu_split.for_this_process() == Split(frozenset({6}), frozenset({2}))


@pytest.mark.parametrize(("value", "expected"), [("", True), (" 1 ", True), ("0", False)])
def test_the_setting(value: str, expected: bool) -> None:
    assert cpu_split.wanted(value) is expected


def test_a_wrong_setting_names_both_values() -> None:
    with pytest.raises(ValueError, match=r"SKYBOOK_CPU_SPLIT='yes' is not 0 or 1: use 1 .* or 0"):
        cpu_split.wanted("yes")


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
    """The first usable CPU as the helpers'."""
    monkeypatch.setenv(HELPER_CPUS_ENV, str(min(MINE)))
    yield frozenset({min(MINE)})


def _child_cpus() -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [int(cpu) for cpu in out.strip("[]\n").split(",")]


def _in_a_thread(run: Callable[[], None]) -> None:
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


@needs_two
def test_a_thread_on_the_helpers_cpus_starts_its_processes_there(
    helpers: frozenset[int],
) -> None:
    seen: list[list[int]] = []

    def spawner() -> None:
        cpu_split.move_this_thread_to_helpers()
        seen.append(_child_cpus())

    _in_a_thread(spawner)
    assert seen == [sorted(helpers)]
    assert os.sched_getaffinity(0) == MINE  # only that thread moved


@needs_two
def test_a_wrapped_server_thread_moves_before_it_starts_anything(
    helpers: frozenset[int],
) -> None:
    """What ``install`` does to LocalStack's ``ShellCommandThread.run_cmd``."""
    seen: list[list[int]] = []
    _in_a_thread(cpu_split._moved_first(lambda: seen.append(_child_cpus())))
    assert seen == [sorted(helpers)]
    assert os.sched_getaffinity(0) == MINE


def test_without_a_split_nothing_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HELPER_CPUS_ENV, raising=False)
    seen: list[list[int]] = []
    _in_a_thread(cpu_split._moved_first(lambda: seen.append(_child_cpus())))
    assert seen == [sorted(MINE)]
