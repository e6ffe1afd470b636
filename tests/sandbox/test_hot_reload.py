"""Hot reload (``up --watch``): functions run from the working tree, a saved change is what
the next invocation runs, with no deploy, no new version, and no event lost or delayed.

Driven through the kit's real watcher (watchfiles on a folder laid out like functions/) and
the sandbox's dev file, on the session's embedded sandbox.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import devmode
from skybook.watch import Watcher
from tests.sandbox.lambdas import invoke, wait_until

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient

pytestmark = pytest.mark.sandbox

HANDLED_WITHIN_S = 20.0  # far more than a cold start, far less than any held event

APP = """
import os
from common import shared

def handler(event, context):
    if event.get("marker"):
        print("handled", event["marker"], "with", VERSION)
    return {"version": VERSION, "shared": shared.VALUE, "pid": os.getpid()}
"""


def app(version: int) -> str:
    return APP + f"\nVERSION = {version}\n"


class Tree:
    """A functions/ folder of one function, ``fn/`` plus ``common/``, as a user edits it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.write("fn/app.py", app(1))
        self.write("common/__init__.py", "")
        self.write("common/shared.py", "VALUE = 'a'\n")

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def watched(self, name: str) -> dict[str, Any]:
        sources = [["", str(self.root / "fn")], ["common", str(self.root / "common")]]
        return {name: {"sources": sources, "skip": ["tests"]}}


@pytest.fixture
def watching(
    dev_file: Path, make_function: Callable[..., str], tmp_path: Path
) -> Iterator[tuple[str, Tree, Watcher]]:
    """A deployed function (code: 'deployed') whose working tree is watched."""
    name = make_function("def handler(event, context):\n    return {'version': 'deployed'}\n")
    tree = Tree(tmp_path / "functions")
    watcher = Watcher(dev_file, tree.watched(name), tree.root, on_reload=lambda *_: None)
    watcher.start()
    try:
        yield name, tree, watcher
    finally:
        watcher.stop()


def _generation(dev_file: Path, name: str) -> int:
    return devmode.read(dev_file).generations.get(name, 0)


def _noticed(dev_file: Path, name: str) -> Callable[[], bool]:
    """A check for ``wait_until``: the watcher has noticed a save made after this call."""
    before = _generation(dev_file, name)
    return lambda: _generation(dev_file, name) > before


def test_saved_change_is_what_the_next_invocation_runs(
    lam: LambdaClient, dev_file: Path, watching: tuple[str, Tree, Watcher]
) -> None:
    """Watch mode: the working tree's code runs; once a save is noticed, the very next
    invocation runs it, in a restarted environment; the function is not redeployed."""
    name, tree, _ = watching
    deployed = lam.get_function(FunctionName=name)["Configuration"]
    first, response = invoke(lam, name)
    assert "FunctionError" not in response, first
    assert (first["version"], first["shared"]) == (1, "a")  # the working tree, not the zip

    for change, expected in (
        (("fn/app.py", app(2)), (2, "a")),
        (("common/shared.py", "VALUE = 'b'\n"), (2, "b")),  # common/ reloads every function
    ):
        noticed = _noticed(dev_file, name)
        tree.write(*change)
        wait_until(noticed, what="the save noticed")
        body, _ = invoke(lam, name)
        assert (body["version"], body["shared"]) == expected
        assert body["pid"] != first["pid"]  # its environment restarted
        first = body

    config = lam.get_function(FunctionName=name)["Configuration"]
    assert config["CodeSha256"] == deployed["CodeSha256"]  # no deploy ...
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST"]  # ... and no new version


def test_no_event_is_lost_or_delayed_by_changes(
    lam: LambdaClient,
    logs: CloudWatchLogsClient,
    dev_file: Path,
    watching: tuple[str, Tree, Watcher],
) -> None:
    """Async events sent while the code changes are each handled once, promptly."""
    name, tree, _ = watching
    markers: list[str] = []
    for version in range(2, 7):
        noticed = _noticed(dev_file, name)
        tree.write("fn/app.py", app(version))
        for _ in range(3):  # some while the change is being noticed, some after
            marker = uuid.uuid4().hex
            markers.append(marker)
            lam.invoke(
                FunctionName=name,
                InvocationType="Event",
                Payload=json.dumps({"marker": marker}).encode(),
            )
        wait_until(noticed, what="the save noticed")
    last = uuid.uuid4().hex  # sent once the last save was noticed: it runs the last code
    markers.append(last)
    lam.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"marker": last}).encode()
    )

    def handled() -> list[str] | None:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        lines = [e["message"].strip() for e in events if e["message"].startswith("handled ")]
        done = {line.split()[1] for line in lines}
        return lines if done >= set(markers) else None

    lines = wait_until(handled, timeout=HANDLED_WITHIN_S, what="every event handled")
    counts = {m: sum(1 for line in lines if line.split()[1] == m) for m in markers}
    assert set(counts.values()) == {1}, counts  # none lost, none twice
    assert f"handled {last} with 6" in lines
