"""Each execution environment's own folders: a read-only task root and a private /tmp.

On AWS the task root is a read-only file system and /tmp is the environment's own, sized by
``EphemeralStorage``. Here, where Linux lets an unprivileged process do it (root, or any user
when user namespaces are enabled, which this module probes once), runtime.py enters a private
mount namespace: the task root and layers are bind-mounted read-only (writes fail with
``EROFS``, for root too) and /tmp is a tmpfs of ``EphemeralStorage`` MB (``ENOSPC`` past it).

Without namespaces the fallback is weaker, and says so in the log: the task root is a copy
with the write bits removed (a non-root function gets ``EACCES``; root ignores file modes, so
for root nothing is enforced) and ``TMPDIR`` points at a per-environment folder (per
environment, not sized; code writing to ``/tmp`` by name shares the host's).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from sandbox.lambda_executor.environment import RUNTIME_FILE

LOG = logging.getLogger(__name__)

ENV_DIR_ENV = "SKYBOOK_LAMBDA_ENV_DIR"  # set by the runner: <sandbox>/lambda-envs
ISOLATION_ENV = "SKYBOOK_LAMBDA_ISOLATION"  # "off" forces the fallback (tests, odd kernels)

_probe_lock = threading.Lock()
_probed: dict[str, tuple[bool, str]] = {}


def envs_root() -> Path:
    root = os.environ.get(ENV_DIR_ENV) or os.path.join(tempfile.gettempdir(), "skybook-lambda")
    return Path(root)


def namespaces_available(interpreter: str) -> tuple[bool, str]:
    """Whether runtime.py can isolate itself on this machine (probed once per interpreter)."""
    with _probe_lock:
        if interpreter not in _probed:
            if os.environ.get(ISOLATION_ENV, "").lower() == "off":
                _probed[interpreter] = (False, f"{ISOLATION_ENV}=off")
            else:
                _probed[interpreter] = _probe(interpreter)
            available, reason = _probed[interpreter]
            if available:
                LOG.info("Lambda environments: read-only task root, private sized /tmp")
            else:
                LOG.warning(
                    "Lambda environments cannot use mount namespaces here (%s): the task root "
                    "is read-only only for non-root users, /tmp is TMPDIR and not sized",
                    reason,
                )
        return _probed[interpreter]


def _probe(interpreter: str) -> tuple[bool, str]:
    root = envs_root()
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix="probe-") as scratch:
        try:
            out = subprocess.run(
                [interpreter, "-S", "-s", str(RUNTIME_FILE), "--probe", scratch],
                capture_output=True,
                text=True,
                timeout=10,
                stdin=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin"},
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as e:
            return False, f"probe failed: {e}"
    return bool(result["isolated"]), str(result.get("reason") or "")


def below_tmp(paths: Iterable[str]) -> list[str]:
    """The outermost folders of ``paths`` that a tmpfs on /tmp would hide (a kit cloned into
    /tmp, say): the runtime mounts them back, read-only, inside the function's own /tmp."""
    found = sorted(
        {
            str(path if path.is_dir() else path.parent)
            for path in (Path(p).resolve() for p in paths if p)
            if path.is_relative_to("/tmp")
        }
    )
    return [p for p in found if not any(Path(p).is_relative_to(q) and p != q for q in found)]


class EnvironmentFolder:
    """``<envs_root>/<environment id>/``: ``task/`` (a copy, when needed) and ``tmp/``."""

    def __init__(self, env_id: str) -> None:
        self.path = envs_root() / env_id
        self.tmp = self.path / "tmp"
        self.task = self.path / "task"

    def create(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)

    def fresh_task(self) -> Path:
        """An empty ``task/`` (the previous copy removed)."""
        if self.task.exists():
            _make_writable(self.task)
            shutil.rmtree(self.task)
        self.task.mkdir(parents=True)
        return self.task

    def remove(self) -> None:
        if self.path.exists():
            _make_writable(self.path)
            shutil.rmtree(self.path, ignore_errors=True)


def copy_tree(
    source: Path, target: Path, *, link: bool, skip: Iterable[str] = (), hidden: bool = True
) -> None:
    """Copy ``source`` into ``target`` (hard links when ``link`` and possible), leaving out
    entries named in ``skip``, byte code, and dot files unless ``hidden``."""
    skipped = set(skip) | {"__pycache__"}

    def wanted(name: str) -> bool:
        return name not in skipped and (hidden or not name.startswith("."))

    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if wanted(d)]
        rel = Path(dirpath).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if not wanted(name) or name.endswith((".pyc", ".pyo")):
                continue
            src, dst = Path(dirpath, name), target / rel / name
            if src.is_symlink():
                dst.symlink_to(os.readlink(src))
                continue
            if link:
                try:
                    os.link(src, dst)
                    continue
                except OSError:
                    pass
            shutil.copy2(src, dst)


def make_read_only(root: Path) -> None:
    """Remove every write bit below ``root`` (files keep their read and execute bits)."""
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                path.chmod(stat.S_IMODE(path.stat().st_mode) & 0o555)
        Path(dirpath).chmod(0o555)


def _make_writable(root: Path) -> None:
    for dirpath, _dirnames, _filenames in os.walk(root):
        with contextlib.suppress(OSError):
            Path(dirpath).chmod(0o755)
