"""LocalStack's own Lambda invokes through the trimmed chain of
``sandbox.speedups.internal_invoke`` against its whole handler chain: the same calls
(tests/sandbox/internal_invoke_side_by_side.py, run by LocalStack's own Python) must give the
Lambda handler the same request context and the client the same answer or error, and only the
trimmed path may skip the protocol parser's route matching. The cases include what callers
really pass: EventBridge's ``TraceHeader`` object, LocalStack's own enums, a file object as
the payload, header values HTTP trims, a name that needs percent-encoding, and an operation
that is not ``Invoke`` (it must take the whole chain)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.paths import Paths

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def calls() -> list[dict[str, Any]]:
    script = Path(__file__).with_name("internal_invoke_side_by_side.py")
    run = subprocess.run(
        [str(Paths.from_env().localstack_python), str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "exception while running" not in run.stderr, run.stderr[-3000:]
    return list(json.loads(run.stdout))


CASES = [
    "ARN and bytes",
    "every header, one with spaces around it, and a qualifier",
    "Event with EventBridge's trace header",
    "DryRun without a payload",
    "a name with a slash, $LATEST, an empty payload",
    "a file as the payload, LocalStack's enum as the type",
    "missing function",
    "GetFunction",
]


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASES)
def test_the_handler_sees_the_same_request_and_the_client_the_same_answer(
    calls: list[dict[str, Any]], index: int
) -> None:
    whole, trimmed = calls[index]["whole"], calls[index]["trimmed"]
    assert len(whole["handler"]) == 1
    assert trimmed["handler"] == whole["handler"]
    assert trimmed["client"] == whole["client"]


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASES)
def test_only_an_invoke_on_the_trimmed_path_skips_the_parser(
    calls: list[dict[str, Any]], index: int
) -> None:
    assert calls[index]["whole"]["parsed"] == 1
    assert calls[index]["trimmed"]["parsed"] == (1 if CASES[index] == "GetFunction" else 0)


def test_the_cases_cover_an_error_and_the_internal_parameters(
    calls: list[dict[str, Any]],
) -> None:
    assert len(calls) == len(CASES)
    missing = calls[CASES.index("missing function")]["whole"]["client"]["answer"]
    assert missing["Error"]["Code"] == "ResourceNotFoundException"
    seen = calls[1]["whole"]["handler"][0]
    assert seen["internal_params"]["service_principal"] == "apigateway"
    assert seen["protocol"] == "rest-json"
    assert seen["service_request"]["TenantId"] == "t 1"  # as HTTP carries it
    traced = calls[2]["whole"]["handler"][0]
    assert traced["trace"].startswith("Root=1-5759e988")
    assert calls[5]["whole"]["handler"][0]["service_request"]["Payload"] == '{"from": "a file"}'
