"""Watch and debug mode, kit side: what the executor is told, and what the user is told."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from sandbox import devmode
from sandbox.runner import Sandbox, SandboxSettings
from skybook import watch
from skybook.cli import main
from skybook.commands import context, debug
from skybook.errors import CliError

OUTPUTS = {
    "functions": {"bookFlight": "skybook-bookFlight", "registerBooking": "skybook-registerBooking"}
}


def test_each_function_runs_from_its_folder_and_common(tmp_path: Path) -> None:
    """The folders bootstrap zips, with the names it leaves out."""
    mapped = watch.mapping(OUTPUTS, tmp_path)
    assert mapped["skybook-bookFlight"]["sources"] == [
        ["common", str(tmp_path / "common")],
        ["", str(tmp_path / "book_flight")],
    ]
    assert {"tests", "templates", "__pycache__"} <= set(mapped["skybook-bookFlight"]["skip"])


def test_a_change_reloads_the_functions_whose_folders_hold_it(tmp_path: Path) -> None:
    mapped = watch.mapping(OUTPUTS, tmp_path)
    assert watch.affected([tmp_path / "book_flight" / "app.py"], mapped) == ["skybook-bookFlight"]
    assert watch.affected([tmp_path / "common" / "log.py"], mapped) == [
        "skybook-bookFlight",
        "skybook-registerBooking",
    ]
    assert watch.affected([tmp_path / "README.md"], mapped) == []


def test_status_says_watch_and_debug_mode_are_on(tmp_path: Path) -> None:
    dev_file = tmp_path / devmode.FILE_NAME
    assert watch.describe(dev_file) == []

    def on(state: devmode.DevState) -> None:
        state.watch, state.watcher = watch.mapping(OUTPUTS, tmp_path), os.getpid()
        state.debug["skybook-registerBooking"] = {"port": 5678}

    devmode.update(dev_file, on)
    lines = watch.describe(dev_file)
    assert lines[0].startswith("watch mode: on (functions run from functions/")
    assert (
        "skybook-registerBooking's next environment waits for an IDE on 127.0.0.1:5678"
        in (lines[1])
    )

    devmode.update(dev_file, lambda state: setattr(state, "watcher", 2**22 + 1))  # not alive
    assert not any(line.startswith("watch mode") for line in watch.describe(dev_file))


def test_dev_file_changes_are_seen_by_the_executor(tmp_path: Path) -> None:
    """A rewrite is a new file: even the same size in the same clock tick is noticed."""
    dev_file = tmp_path / devmode.FILE_NAME
    view = devmode.DevFile(dev_file)
    assert view.state().generations == {}
    for expected in range(1, 6):
        devmode.bump(dev_file, ["f"])
        assert view.state().generations == {"f": expected}


def test_debug_names_the_functions_it_knows() -> None:
    assert debug.deployed_name(OUTPUTS, "registerBooking") == "skybook-registerBooking"
    assert debug.deployed_name(OUTPUTS, "skybook-bookFlight") == "skybook-bookFlight"
    with pytest.raises(CliError, match="use one of bookFlight, registerBooking"):
        debug.deployed_name(OUTPUTS, "nope")


def test_debug_refuses_a_taken_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYBOOK_HOME", str(tmp_path))
    sandbox = Sandbox(SandboxSettings(name="unit"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CliError, match=f"port {port} on 127.0.0.1 is in use"):
            debug.enable(sandbox, "skybook-bookFlight", port)
    with pytest.raises(CliError, match="out of range"):
        debug.enable(sandbox, "skybook-bookFlight", 80)


def test_debug_without_a_sandbox_says_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("SKYBOOK_SANDBOX", "unit-test-no-such-sandbox")
    monkeypatch.setenv("SKYBOOK_HOME", str(tmp_path))
    assert main(["debug", "registerBooking"]) == 1
    assert capsys.readouterr().err.strip() == f"skybook: {context.NO_SANDBOX}"
