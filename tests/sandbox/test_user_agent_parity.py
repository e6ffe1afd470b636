"""``sandbox.speedups.user_agent`` against botocore's own ``User-Agent`` strings, in
LocalStack's Python (its pinned botocore, which builds each string anew) and in the kit's
(a newer botocore, which caches on its own): the same strings for every config and request
feature (tests/sandbox/user_agent_side_by_side.py), built once per client and features."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox.paths import Paths

pytestmark = pytest.mark.sandbox  # LocalStack's Python, from the setup
SCRIPT = Path(__file__).with_name("user_agent_side_by_side.py")


@pytest.mark.parametrize("python", ["localstack", "kit"])
def test_the_cached_strings_are_botocores_own(python: str) -> None:
    executable = (
        str(Paths.from_env().localstack_python) if python == "localstack" else sys.executable
    )
    run = subprocess.run([executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    seen: dict[str, Any] = json.loads(run.stdout)
    own, (first, second) = seen["own"], seen["cached"]
    assert first == own and second == own, seen["botocore"]
    assert len({agents[-1] for agents in own.values()}) == len(own) - 1  # legacy: no features
    assert all(
        "W" in agents[-1].rsplit(" m/", 1)[-1]
        for name, agents in own.items()
        if name.endswith("feature W") and "legacy" not in name
    )
    assert seen["builds"][1] == 0  # the second round built nothing
