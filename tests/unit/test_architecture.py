"""The one-way dependencies between the parts (docs/architecture.md), read from the source.

Every ``import`` and ``from ... import`` of a part, at any depth (a lazy import inside a
function counts too), is checked against what that part may never import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KIT = {"bootstrap", "sandbox", "skybook", "devtools", "tests", "functions", "common"}

# part -> the top-level modules it must never import
FORBIDDEN = {
    # The app: each function ships alone; see test_functions_import_only_what_a_zip_has.
    "functions": KIT - {"common"},
    # The deployer targets any endpoint or AWS: it never knows the sandbox.
    "bootstrap": KIT - {"bootstrap"},
    # The sandbox would run any other app: it never knows the app or its deployer.
    "sandbox": KIT - {"sandbox"},
    # The user's package: never the developers' tools, the tests, or the functions' code
    # (the app contract is copied in skybook/contract.py, kept equal by a test).
    "skybook": {"devtools", "tests", "functions", "common"},
    "devtools": {"tests", "functions", "common"},
}
# What a function zip holds besides the standard library: its shared code and boto3.
ZIP = {"common", "boto3", "botocore"}


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level module) of every absolute import in a file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def sources(part: str) -> list[Path]:
    return sorted((REPO / part).rglob("*.py"))


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_no_part_imports_against_the_direction(part: str) -> None:
    files = sources(part)
    assert files, f"no Python files under {part}/"
    wrong = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in files
        for line, module in imports(path)
        if module in FORBIDDEN[part]
    ]
    assert not wrong, wrong


def test_functions_import_only_what_a_zip_has() -> None:
    wrong = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in sources("functions")
        for line, module in imports(path)
        if module not in ZIP and module not in sys.stdlib_module_names
    ]
    assert not wrong, wrong


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import os\n\ndef f():\n    from skybook.app import deploy_app\n")
    assert list(imports(source)) == [(1, "os"), (4, "skybook")]
