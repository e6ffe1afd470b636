"""The booking app on a sandbox: deploy it with bootstrap, seed flights, say how to use it.

Shared by ``skybook up``, the Docker ``ready.d`` hook and the end-to-end fixtures, so all
three deploy exactly the same way.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bootstrap import DeployError, Settings, Target, deploy, stack_outputs
from bootstrap.target import DEFAULT_REGION
from skybook.contract import booking_request
from skybook.errors import UserError


class AppError(UserError):
    """Deploying or reading the app failed; the message says why."""


def sandbox_settings(**overrides: Any) -> Settings:
    """The stack as the sandbox runs it: bus events copied to a log group, a week of flights,
    no stage throttling (frictionless, and bench/load push far more than AWS's default)."""
    values: dict[str, Any] = {
        "event_log": True,
        "days_ahead": 7,
        "throttle": None,
    }
    values.update(overrides)
    return Settings(**values)


def deploy_app(
    endpoint: str,
    *,
    outputs_file: str | Path | None = None,
    seed: bool = True,
    quiet: bool = False,
    **settings: Any,
) -> dict[str, Any]:
    """Deploy (idempotently) and seed the app on the sandbox at ``endpoint``; return outputs.

    Nothing is written locally unless ``outputs_file`` asks for a copy: every command reads
    the outputs from the stack itself."""
    if outputs_file is not None:
        settings["outputs_file"] = Path(outputs_file)
    target = Target.local(endpoint)
    options: dict[str, Any] = {"progress": (lambda _line: None)} if quiet else {}
    try:
        result = deploy(sandbox_settings(**settings), target, **options)
    except DeployError as error:
        raise AppError(str(error)) from error
    if not quiet:
        print(result.summary(), file=sys.stderr)
    if seed:
        seed_flights(target, result.outputs)
    return result.outputs


def app_outputs(endpoint: str, stack: str = "skybook") -> dict[str, Any]:
    """The outputs of the app deployed there (by ``up``, the compose hook or anyone), read
    from the stack itself."""
    try:
        return stack_outputs(Target.local(endpoint), stack)
    except DeployError as error:
        raise AppError(str(error)) from error


def seed_flights(target: Target, outputs: dict[str, Any]) -> dict[str, Any]:
    """Run syncFlights now (as its daily schedule would): it never resets existing flights."""
    response = target.client("lambda").invoke(
        FunctionName=outputs["functions"]["syncFlights"], Payload=b"{}"
    )
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise AppError(f"syncFlights failed while seeding flights: {payload}")
    return payload if isinstance(payload, dict) else {}


def describe_app(endpoint: str) -> dict[str, Any]:
    """The app on this endpoint, as its stack describes itself, for ``status``."""
    try:
        outputs = app_outputs(endpoint)
    except AppError:
        return {"deployed": False, "lines": ["app: not deployed (./scripts/up deploys it)"]}
    return {
        "deployed": True,
        "outputs": outputs,
        "lines": [
            f"app: {outputs['bookFlightUrl']}",
            f"  table {outputs['tableName']}, bus {outputs['eventBusName']}",
        ],
    }


def example_booking(destination: str = "LHR") -> dict[str, Any]:
    today = datetime.now(UTC).date().isoformat()
    return booking_request(destination, today, 1, "traveller@example.com")


def print_welcome(endpoint: str, outputs: dict[str, Any]) -> None:
    """What to do next: the API, a copy-paste booking, where the email shows up."""
    body = json.dumps(example_booking())
    print(
        f"""
The booking app is deployed ({DEFAULT_REGION}).
  API:    POST {outputs["bookFlightUrl"]}
  Book a flight:
    curl -s -X POST '{outputs["bookFlightUrl"]}' \\
      -H 'Content-Type: application/json' \\
      -d '{body}'
  Emails: curl -s '{endpoint}/_aws/ses?email={outputs["senderEmail"]}'
          (the sender's mail; the receipt arrives within a second or two)
  Table:  {outputs["tableName"]}   Bus: {outputs["eventBusName"]}
""",
        flush=True,
    )
