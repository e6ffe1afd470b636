"""Is every LocalStack init hook of a stage done and successful? For any LocalStack.

LocalStack 4.14 marks a stage ``completed`` even when one of its scripts ended in ``ERROR``;
only each script's own ``state`` in ``/_localstack/init/<stage>`` tells. So "healthy" here
means: the stage completed, it has at least one script (a missing mount is a failure, not a
success), and every script is ``SUCCESSFUL``.

Standard library only, and runnable as a file: docker-compose.yml's healthcheck runs this
very file with the container's ``python3`` (``python3 /opt/skybook/sandbox/init_status.py``);
``skybook up --docker``, the testcontainers fixture and the tests import it.
As a script it exits 0 when healthy and 1 otherwise (Docker reserves 2), printing why.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

DEFAULT_ENDPOINT = "http://localhost:4566"
HEALTHY, FAILED, PENDING = 0, 1, 2


@dataclass(frozen=True)
class InitStatus:
    """One stage's hooks as LocalStack reports them; ``scripts`` maps name -> state."""

    stage: str
    completed: bool
    scripts: dict[str, str]
    error: str = ""  # why the status could not be read at all

    @property
    def failed(self) -> list[str]:
        return [name for name, state in self.scripts.items() if state == "ERROR"]

    @property
    def code(self) -> int:
        if self.failed:
            return FAILED
        if self.completed and not self.scripts:
            return FAILED  # nothing ran: the hook folder is empty or not mounted
        if self.completed and all(s == "SUCCESSFUL" for s in self.scripts.values()):
            return HEALTHY
        return PENDING

    def describe(self) -> str:
        """One line saying what the state is and, when it failed, where to look."""
        if self.error:
            return f"LocalStack is not answering yet ({self.error})"
        if self.failed:
            return (
                f"init hook {', '.join(self.failed)} ({self.stage} stage) failed: "
                "its traceback is in LocalStack's log"
            )
        if self.code == FAILED:
            return f"no {self.stage.lower()} init hook ran: is the hook folder mounted?"
        if self.code == HEALTHY:
            names = ", ".join(self.scripts)
            return f"{self.stage.lower()} init hooks succeeded ({names})"
        states = ", ".join(f"{name}={state}" for name, state in self.scripts.items())
        return f"{self.stage.lower()} init hooks still running ({states or 'not started'})"


def parse(stage: str, answer: dict[str, object]) -> InitStatus:
    """``GET /_localstack/init/<stage>``'s JSON as an :class:`InitStatus`."""
    scripts = answer.get("scripts") or []
    assert isinstance(scripts, list)
    return InitStatus(
        stage=stage.upper(),
        completed=bool(answer.get("completed")),
        scripts={str(s["name"]): str(s["state"]) for s in scripts},
    )


def read_status(endpoint: str, stage: str = "ready", timeout: float = 3.0) -> InitStatus:
    url = f"{endpoint.rstrip('/')}/_localstack/init/{stage.lower()}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return parse(stage, json.load(response))
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        return InitStatus(stage=stage.upper(), completed=False, scripts={}, error=str(reason))


def main() -> int:
    endpoint = os.environ.get("SKYBOOK_ENDPOINT") or DEFAULT_ENDPOINT
    status = read_status(endpoint)
    print(status.describe())
    return 0 if status.code == HEALTHY else 1


if __name__ == "__main__":
    sys.exit(main())
