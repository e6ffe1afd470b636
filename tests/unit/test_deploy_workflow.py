"""The CI deploy recipe (.github/workflows/deploy.yml), checked offline: GitHub's workflow
schema, OIDC role assumption without keys, least permissions, plans on pull requests and
applies on a manual run or a tag only, and bootstrap command lines that bootstrap accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bootstrap import cli
from devtools import workflows

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"
SHA = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(WORKFLOW.read_text())
    return data


def steps(job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"][job]["steps"]
    return found


def test_the_workflow_matches_githubs_schema() -> None:
    """Also part of test_workflows' check, which needs actionlint installed; this needs none."""
    assert workflows.schema_problems([WORKFLOW]) == []


def test_plans_on_pull_requests_and_applies_on_dispatch_or_tag() -> None:
    data = workflow()
    assert set(data["on"]) == {"pull_request", "push", "workflow_dispatch"}
    assert data["on"]["push"] == {"tags": ["v*"]}  # no apply on a branch push
    jobs = data["jobs"]
    assert jobs["plan"]["if"].startswith("github.event_name == 'pull_request'")
    assert "workflow_dispatch" in jobs["apply"]["if"] and "refs/tags/v" in jobs["apply"]["if"]
    assert jobs["apply"]["environment"]  # protection rules (reviewers) apply
    assert jobs["apply"]["concurrency"]["cancel-in-progress"] is False
    assert jobs["plan"]["concurrency"]["cancel-in-progress"] is True


@pytest.mark.parametrize("job", ["plan", "apply"])
def test_short_lived_credentials_and_least_permissions(job: str) -> None:
    data = workflow()
    assert data["permissions"] == {}
    assert data["jobs"][job]["permissions"] == {"contents": "read", "id-token": "write"}
    [assume] = [s for s in steps(job) if "configure-aws-credentials" in s.get("uses", "")]
    assert set(assume["with"]) >= {"role-to-assume", "aws-region", "allowed-account-ids"}
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(assume["with"])
    role = "AWS_PLAN_ROLE_ARN" if job == "plan" else "AWS_DEPLOY_ROLE_ARN"
    assert role in assume["with"]["role-to-assume"]
    assert "secrets." not in WORKFLOW.read_text()
    for step in steps(job):
        if "uses" in step:
            assert SHA.match(step["uses"]), f"{step['uses']}: pin actions to a commit"
    [checkout] = [s for s in steps(job) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["persist-credentials"] is False


def bootstrap_commands(job: str) -> list[list[str]]:
    """The ``python -m bootstrap`` command lines of a job, shell variables as placeholders."""
    found = []
    for step in steps(job):
        script = step.get("run", "").replace("\\\n", " ")
        for line in script.splitlines():
            if "python -m bootstrap" in line:
                words = shlex.split(line.split("python -m bootstrap", 1)[1].split(">")[0])
                found.append([w.replace("$", "X") for w in words])
    return found


def test_the_commands_are_ones_bootstrap_accepts() -> None:
    [planned] = bootstrap_commands("plan")
    [applied] = bootstrap_commands("apply")
    plan_args = cli.parser().parse_args(planned)
    apply_args = cli.parser().parse_args(applied)
    assert (plan_args.command, plan_args.aws) == ("plan", True)
    assert (apply_args.command, apply_args.aws, apply_args.yes) == ("apply", True, True)
    for args in (plan_args, apply_args):
        assert (args.stack_name, args.stage, args.sender_email) == ("XSTACK", "XSTAGE", "XSENDER")
