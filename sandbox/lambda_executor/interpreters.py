"""Which Python interpreter runs which ``pythonX.Y`` Lambda runtime.

``SKYBOOK_LAMBDA_INTERPRETERS`` (JSON ``{"python3.13": "/abs/python3.13"}``, set by the sandbox
runner) wins; otherwise pyenv's versions and then PATH are searched. Every candidate is probed,
because a pyenv shim on PATH may exist and still fail ("command not found").
"""

from __future__ import annotations

import glob
import json
import logging
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

from sandbox.lambda_executor.process import interpreter_version

LOG = logging.getLogger(__name__)

INTERPRETERS_ENV = "SKYBOOK_LAMBDA_INTERPRETERS"
PYTHON_RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")

_cache: dict[str, str | None] = {}
_lock = threading.Lock()


class InterpreterError(Exception):
    """No usable interpreter for a runtime (the message says how to provide one)."""


def _configured() -> dict[str, str]:
    raw = os.environ.get(INTERPRETERS_ENV, "").strip()
    if not raw:
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError as e:
        raise InterpreterError(f"{INTERPRETERS_ENV} is not valid JSON: {e}") from e
    if not isinstance(mapping, dict):
        raise InterpreterError(f"{INTERPRETERS_ENV} must be a JSON object")
    return {str(k): str(v) for k, v in mapping.items()}


def _pyenv_root() -> Path | None:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    home = Path.home() / ".pyenv"
    if home.is_dir():
        return home
    if pyenv := shutil.which("pyenv"):
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10)
            return Path(out.stdout.strip()) if out.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None
    return None


def _candidates(version: str) -> list[str]:
    found: list[str] = []
    if root := _pyenv_root():
        pattern = str(root / "versions" / f"{version}.*" / "bin" / f"python{version}")

        def key(path: str) -> tuple[int, ...]:
            m = re.search(rf"versions/{re.escape(version)}\.(\d+)", path)
            return (int(m.group(1)),) if m else (-1,)

        found += sorted(glob.glob(pattern), key=key, reverse=True)
    if on_path := shutil.which(f"python{version}"):
        found.append(on_path)
    return found


def _resolve(runtime: str) -> str | None:
    version = runtime.removeprefix("python")
    configured = _configured()
    if runtime in configured:
        probed = interpreter_version(configured[runtime])
        if not probed or probed[1] != version:
            raise InterpreterError(
                f"{INTERPRETERS_ENV} maps {runtime} to {configured[runtime]}, "
                f"which does not run as Python {version}"
            )
        return probed[0]
    for candidate in _candidates(version):
        probed = interpreter_version(candidate)
        if probed and probed[1] == version:
            return probed[0]
    return None


def interpreter_for(runtime: str) -> str:
    """The interpreter for ``runtime``; InterpreterError naming the supported ones otherwise."""
    if runtime in PYTHON_RUNTIMES:
        with _lock:
            if runtime not in _cache:
                _cache[runtime] = _resolve(runtime)
            interpreter = _cache[runtime]
        if interpreter:
            return interpreter
    supported = ", ".join(available_runtimes()) or "none (no Python interpreter found)"
    if runtime in PYTHON_RUNTIMES:
        version = runtime.removeprefix("python")
        raise InterpreterError(
            f"Runtime {runtime} needs a Python {version} interpreter, and none is installed "
            f"here (runtimes that work here: {supported}): install one, e.g. `uv python "
            f"install {version}` or `pyenv install {version}`, and run ./scripts/setup, which "
            "finds it; then restart the sandbox."
        )
    raise InterpreterError(
        f"Runtime {runtime} is not supported by skybook's process Lambda executor, which runs "
        f"functions as local Python processes; runtimes that work here: {supported}. "
        f"Use one of those, or map a runtime to an interpreter in {INTERPRETERS_ENV}."
    )


def available_runtimes() -> list[str]:
    """Python runtimes with a working interpreter on this machine."""
    out = []
    for runtime in PYTHON_RUNTIMES:
        with _lock:
            if runtime not in _cache:
                try:
                    _cache[runtime] = _resolve(runtime)
                except InterpreterError as e:
                    LOG.warning("%s", e)
                    _cache[runtime] = None
            if _cache[runtime]:
                out.append(runtime)
    return out
