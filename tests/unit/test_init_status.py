"""Reading LocalStack's init hook states: what counts as healthy, failed or not yet."""

from __future__ import annotations

import pytest

from sandbox.init_status import FAILED, HEALTHY, PENDING, parse, read_status
from sandbox.runner import free_port


def answer(completed: bool, *states: str) -> dict[str, object]:
    return {
        "completed": completed,
        "scripts": [
            {"stage": "READY", "name": f"hook{i}.py", "state": state}
            for i, state in enumerate(states)
        ],
    }


@pytest.mark.parametrize(
    ("completed", "states", "code"),
    [
        (True, ("SUCCESSFUL",), HEALTHY),
        (True, ("SUCCESSFUL", "SUCCESSFUL"), HEALTHY),
        # LocalStack 4.14 marks the stage completed although a hook ended in ERROR.
        (True, ("SUCCESSFUL", "ERROR"), FAILED),
        (False, ("ERROR", "RUNNING"), FAILED),
        (True, (), FAILED),  # no hook at all: the folder is not mounted
        (False, (), PENDING),
        (False, ("SUCCESSFUL", "RUNNING"), PENDING),
        (False, ("UNKNOWN",), PENDING),
    ],
)
def test_status_codes(completed: bool, states: tuple[str, ...], code: int) -> None:
    assert parse("ready", answer(completed, *states)).code == code


def test_a_failure_names_the_hook_and_where_to_look() -> None:
    status = parse("ready", answer(True, "SUCCESSFUL", "ERROR"))
    assert status.failed == ["hook1.py"]
    assert status.describe() == (
        "init hook hook1.py (READY stage) failed: its traceback is in LocalStack's log"
    )


def test_nothing_listening_is_not_yet_healthy_and_says_so() -> None:
    status = read_status(f"http://127.0.0.1:{free_port()}", timeout=1)
    assert status.code == PENDING
    assert status.describe().startswith("LocalStack is not answering yet")
