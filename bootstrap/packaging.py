"""Deterministic deployment packages for the functions.

Lambda reports ``CodeSha256`` for the code it holds; a zip that is byte-identical for
identical sources lets the planner skip unchanged functions by comparing hashes, without
keeping any local state. So: sorted entries, a fixed timestamp, fixed permissions.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from bootstrap.errors import DeployError
from bootstrap.resources.function import Code

COMMON_DIR = "common"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--
_SKIP_DIRS = {"__pycache__", "tests", "templates", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


# Also what hot reload leaves out when it runs a function from the working tree.
SKIPPED_NAMES = frozenset(_SKIP_DIRS)


def source_folders(functions_dir: Path, code_dir: str) -> list[tuple[str, Path]]:
    """What a function's zip is made of: (folder inside the zip, source folder)."""
    return [(COMMON_DIR, functions_dir / COMMON_DIR), ("", functions_dir / code_dir)]


class PackagingError(DeployError):
    """A function's source folder is missing or unreadable."""


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix not in _SKIP_SUFFIXES:
            yield path


def build_zip(functions_dir: Path, code_dir: str) -> bytes:
    """Zip ``functions/<code_dir>/`` at the root and ``functions/common/`` as ``common/``.

    Tests, templates and bytecode stay out: the zip holds what the handler imports, so
    the same source always gives the same bytes.
    """
    source = functions_dir / code_dir
    if not source.is_dir():
        raise PackagingError(f"function source folder {source} does not exist")
    entries: dict[str, Path] = {}
    common = functions_dir / COMMON_DIR
    if common.is_dir():
        for path in _files(common):
            entries[f"{COMMON_DIR}/{path.relative_to(common).as_posix()}"] = path
    for path in _files(source):
        entries[path.relative_to(source).as_posix()] = path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions above are honoured everywhere
            archive.writestr(info, entries[arcname].read_bytes(), compresslevel=9)
    return buffer.getvalue()


def code_sha256(data: bytes) -> str:
    """The hash as Lambda's ``CodeSha256`` reports it: base64 of the sha256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def package(functions_dir: Path, code_dir: str) -> Code:
    data = build_zip(functions_dir, code_dir)
    return Code(zip_bytes=data, sha256=code_sha256(data), source=str(functions_dir / code_dir))
