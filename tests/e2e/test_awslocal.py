"""awslocal (awscli-local), as the README shows it, works against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import App

pytestmark = pytest.mark.sandbox
AWSLOCAL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "awslocal"


def awslocal(app: App, *args: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": app.sandbox.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [str(AWSLOCAL), *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout or "{}")


def test_awslocal_lists_the_stack(app: App) -> None:
    if not AWSLOCAL.exists():
        pytest.skip("awslocal is installed by ./scripts/setup into .venv")
    functions = awslocal(app, "lambda", "list-functions")["Functions"]
    assert app.outputs["functions"]["bookFlight"] in {f["FunctionName"] for f in functions}
    tables = awslocal(app, "dynamodb", "list-tables")["TableNames"]
    assert app.outputs["tableName"] in tables
    rules = awslocal(app, "events", "list-rules", "--event-bus-name", app.outputs["eventBusName"])
    assert rules["Rules"]
