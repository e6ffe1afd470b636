"""The API calls of a first apply, a no-op apply and a destroy, pinned.

Refactoring the deployer must not change what it asks of AWS: the same reads to plan and the
same changes, call for call. The polls of waits (botocore waiters) are counted apart, per
service only, because how a wait polls (which operation, how often) is not part of the plan;
on moto every wait ends at its first poll. (The snapshot was taken before the deployer used
waiters, when its own poll loop made the same number of polls with other operations.)

When a change of calls is intended, rewrite the snapshot with
``SKYBOOK_UPDATE_SNAPSHOTS=1 pytest tests/unit/bootstrap/test_api_calls.py`` and review
its diff.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from bootstrap import deploy, destroy
from bootstrap.settings import Settings
from bootstrap.target import Target
from tests.unit.bootstrap.conftest import CallRecorder

SNAPSHOT = Path(__file__).with_name("api_calls.json")
QUIET: dict[str, Any] = {"progress": lambda _text: None}


def counted(recorder: CallRecorder) -> dict[str, Any]:
    polls = Counter(recorder.polls)
    planned = Counter(recorder.calls) - polls
    return {
        "calls": {f"{service}.{operation}": n for (service, operation), n in planned.items()},
        "polls": dict(Counter(service for service, _operation in recorder.polls)),
    }


def test_apply_apply_destroy_make_the_pinned_calls(
    settings: Settings, target: Target, recorder: CallRecorder
) -> None:
    settings = settings.with_(event_log=True)  # every kind of resource
    phases: dict[str, Any] = {}
    recorder.clear()
    deploy(settings, target, **QUIET)
    phases["first apply"] = counted(recorder)
    recorder.clear()
    assert deploy(settings, target, **QUIET).applied == []
    phases["second apply"] = counted(recorder)
    recorder.clear()
    destroy(settings, target, **QUIET)
    phases["destroy"] = counted(recorder)

    actual = json.loads(json.dumps(phases, sort_keys=True))
    if os.environ.get("SKYBOOK_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert actual == json.loads(SNAPSHOT.read_text())
