"""Hot reload: the functions run from the working tree, and a saved change is what the next
invocation runs, with no deploy and no new version.

``up --watch`` tells the sandbox's Lambda executor where each deployed function's code comes
from (the folders bootstrap would zip) through the sandbox's dev file (:mod:`sandbox.devmode`),
then watches ``functions/`` with watchfiles. A change bumps the generation of the functions
whose folders it touched (``common/`` touches them all); the executor restarts their
environments from a fresh copy of those folders before their next invocation, and restarts
idle ones right away. Invocations in flight finish on the code they started with; events
wait for nothing but a cold start.

Foreground ``up``: a thread of the same process. ``up --detach``: this module as a detached
process (``python -m skybook.watch``), which ends by itself when the sandbox stops.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import watchfiles

from bootstrap.packaging import SKIPPED_NAMES, source_folders
from bootstrap.settings import REPO_ROOT
from bootstrap.stack import FUNCTIONS
from sandbox import devmode
from sandbox.control import spawn_detached
from sandbox.runner import Sandbox, SandboxSettings, alive

FUNCTIONS_DIR = REPO_ROOT / "functions"
LOG = "watch.log"
# watchfiles yields once the tree was quiet this long (an editor's save is several events)
QUIET_MS = 30


def mapping(outputs: dict[str, Any], functions_dir: Path = FUNCTIONS_DIR) -> dict[str, Any]:
    """Deployed function name -> where its code comes from, as the executor wants it."""
    code_dirs = {logical: code_dir for code_dir, logical in FUNCTIONS.items()}
    return {
        deployed: {
            "sources": [
                [target, str(folder)]
                for target, folder in source_folders(functions_dir, code_dirs[logical])
            ],
            "skip": sorted(SKIPPED_NAMES),
        }
        for logical, deployed in outputs["functions"].items()
        if logical in code_dirs
    }


def affected(changed: Iterable[Path], watched: dict[str, Any]) -> list[str]:
    """The functions whose source folders contain one of the ``changed`` paths."""
    paths = [p.resolve() for p in changed]
    return sorted(
        name
        for name, spec in watched.items()
        if any(p.is_relative_to(Path(src).resolve()) for p in paths for _, src in spec["sources"])
    )


class Watcher:
    """Keeps a sandbox's functions running from ``functions_dir`` while it runs."""

    def __init__(
        self,
        dev_file: Path,
        watched: dict[str, Any],
        functions_dir: Path = FUNCTIONS_DIR,
        on_reload: Callable[[list[str], list[Path]], None] | None = None,
    ) -> None:
        self.dev_file = dev_file
        self.watched = watched
        self.functions_dir = functions_dir
        self.on_reload = on_reload or _print_reload
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def enable(self, pid: int) -> None:
        """From now on the watched functions run from the working tree (their environments
        restart), kept current by the process ``pid``."""

        def change(state: devmode.DevState) -> None:
            state.watch = dict(self.watched)
            state.watcher = pid

        devmode.update(self.dev_file, change)

    def start(self) -> Watcher:
        self.enable(os.getpid())
        self._thread = threading.Thread(target=self.run, name="skybook-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

        def change(state: devmode.DevState) -> None:
            state.watch, state.watcher = {}, None

        if self.dev_file.exists():
            devmode.update(self.dev_file, change)

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Watch until stopped (or ``until()`` says so, checked every half second)."""
        for changes in watchfiles.watch(
            self.functions_dir,
            stop_event=self._stop,
            step=QUIET_MS,
            rust_timeout=500,
            yield_on_timeout=until is not None,
        ):
            if until is not None and until():
                return
            paths = [Path(p) for _, p in changes]
            names = affected(paths, self.watched)
            if names:
                devmode.bump(self.dev_file, names)
                self.on_reload(names, paths)


def _print_reload(names: list[str], paths: list[Path]) -> None:
    shown = ", ".join(sorted({str(_relative(p)) for p in paths}))
    print(f"reloaded {', '.join(names)} ({shown})", flush=True)


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(REPO_ROOT)
    except ValueError:
        return path


def describe(dev_file: Path) -> list[str]:
    """``status`` lines for watch and debug mode (none when both are off)."""
    state = devmode.read(dev_file)
    lines = []
    if state.watch and state.watcher and alive(state.watcher):
        lines.append(
            f"watch mode: on (functions run from {_relative(FUNCTIONS_DIR)}/, "
            f"watcher pid {state.watcher}): a saved change is what the next invocation runs"
        )
    for name, debug in sorted(state.debug.items()):
        port = debug["port"]
        lines.append(f"debug: {name}'s next environment waits for an IDE on 127.0.0.1:{port}")
    return lines


def start_detached(sandbox: Sandbox, stack: str) -> int:
    """A watcher process for a detached sandbox; it ends when the sandbox does."""
    command = [sys.executable, "-m", "skybook.watch", "--stack-name", stack]
    command += ["--sandbox", sandbox.settings.name]
    process = spawn_detached(command, sandbox.dir / LOG, port=sandbox.settings.port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # watching once the dev file names it
        if devmode.read(sandbox.dev_file).watcher == process.pid:
            return process.pid
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    tail = (sandbox.dir / LOG).read_text(errors="replace").strip().splitlines()[-1:]
    raise RuntimeError(f"the watcher did not start: {' '.join(tail) or 'no output'}")


def main(argv: list[str] | None = None) -> int:
    from bootstrap import Target, stack_outputs

    parser = argparse.ArgumentParser(prog="python -m skybook.watch", description=__doc__)
    parser.add_argument("--stack-name", default="skybook")
    parser.add_argument("--sandbox", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    sandbox = Sandbox(SandboxSettings.from_env(name=args.sandbox, port=args.port))
    outputs = stack_outputs(Target.local(sandbox.endpoint), args.stack_name)
    watcher = Watcher(sandbox.dev_file, mapping(outputs))
    watcher.enable(os.getpid())
    print(f"watching {FUNCTIONS_DIR}", flush=True)
    try:
        watcher.run(until=lambda: sandbox.record() is None)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
