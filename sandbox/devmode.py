"""Hot reload and debugging: what the kit asks of a running sandbox's Lambda executor.

One JSON file per sandbox, ``<sandbox>/dev.json`` (its path is ``SKYBOOK_LAMBDA_DEV_FILE`` in
LocalStack's environment). The kit writes it; the executor reads it whenever it changed:

- ``watch``: function name -> the folders its code comes from (``[["", ".../functions/x"],
  ["common", ".../functions/common"]]``: target inside the task root, source folder) and the
  names to leave out; the executor runs such a function from a fresh copy of those folders
  instead of its deployed zip. ``watcher`` is the pid of the process that keeps it current.
- ``generations``: function name -> a counter the watcher bumps when its files change; an
  environment started with another value restarts before its next invocation.
- ``debug``: function name -> the port its next environment's debugpy listens on.

Written atomically (a temporary file renamed over it) under a lock, so the watcher and
``skybook debug`` can both change it. No imports beyond the standard library: the executor
runs inside LocalStack, and the kit must not depend on the app to write it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILE_NAME = "dev.json"
DEV_FILE_ENV = "SKYBOOK_LAMBDA_DEV_FILE"


@dataclass
class DevState:
    watch: dict[str, dict[str, Any]] = field(default_factory=dict)
    watcher: int | None = None
    generations: dict[str, int] = field(default_factory=dict)
    debug: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DevState:
        return cls(
            watch=dict(data.get("watch") or {}),
            watcher=data.get("watcher"),
            generations={k: int(v) for k, v in (data.get("generations") or {}).items()},
            debug=dict(data.get("debug") or {}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "watch": self.watch,
            "watcher": self.watcher,
            "generations": self.generations,
            "debug": self.debug,
        }

    def key(self, function: str) -> str:
        """What an environment of ``function`` was started with; a change means restart."""
        return json.dumps(
            [self.watch.get(function), self.generations.get(function, 0)], sort_keys=True
        )


def read(path: Path) -> DevState:
    try:
        return DevState.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, AttributeError, TypeError):
        return DevState()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def update(path: Path, change: Callable[[DevState], None]) -> DevState:
    """Read, ``change`` and write back the state, atomically with respect to other writers."""
    with _locked(path):
        state = read(path)
        change(state)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n")
        temporary.replace(path)
        return state


def bump(path: Path, functions: list[str]) -> DevState:
    def change(state: DevState) -> None:
        for name in functions:
            state.generations[name] = state.generations.get(name, 0) + 1

    return update(path, change)


class DevFile:
    """The executor's view: the state, re-read only when the file changed (one stat a call)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._state = DevState()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> DevFile:
        value = os.environ.get(DEV_FILE_ENV)
        return cls(Path(value) if value else None)

    def state(self) -> DevState:
        if self.path is None:
            return self._state
        with self._lock:
            return self._refresh(self.path)

    def _refresh(self, path: Path) -> DevState:
        try:
            info = path.stat()
            # a rewrite is a new inode (renamed over the old one): never mistaken for no change
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._state = read(path) if stamp else DevState()
        return self._state
