"""Which sandbox and which deployed stack a command talks to.

The endpoint is ``--endpoint``, else ``$SKYBOOK_ENDPOINT``, else the running sandbox's
record (the one ``up`` started, or ``$SKYBOOK_SANDBOX``'s). The stack is described by the
outputs file: ``--outputs-file``, else ``$SKYBOOK_OUTPUTS_FILE``, else ``.skybook/outputs.json`` in
the repo (what ``up`` and ``deploy`` write). Tests point both at their own sandbox this way.
The load tool aimed at a running sandbox (``skybook.load``) decides through here too.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bootstrap import DeployError, read_outputs
from bootstrap.target import DEFAULT_REGION
from sandbox.runner import Sandbox, SandboxSettings
from skybook.app import default_outputs
from skybook.errors import CliError
from skybook.httpclient import Unreachable, request

NO_SANDBOX = "no sandbox is running: start one with ./scripts/up (or pass --endpoint URL)"


def add_options(parser: argparse.ArgumentParser, *, json_help: str | None = None) -> None:
    """``--endpoint``, ``--outputs-file`` and ``--json``, as every app command has them."""
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="the sandbox (default: $SKYBOOK_ENDPOINT, else the running sandbox)",
    )
    parser.add_argument(
        "--outputs-file",
        metavar="F",
        type=Path,
        help="the deployed stack's outputs "
        f"(default: $SKYBOOK_OUTPUTS_FILE or {default_outputs()})",
    )
    parser.add_argument("--json", action="store_true", help=json_help or "JSON on stdout")


def positive(text: str) -> int:
    """An option's whole number >= 1 (argparse turns the error into a usage message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def sandbox_endpoint(explicit: str | None = None) -> str:
    """The endpoint to use, or a :class:`CliError` saying how to start a sandbox."""
    if explicit:
        return explicit.rstrip("/")
    if from_env := os.environ.get("SKYBOOK_ENDPOINT"):
        return from_env.rstrip("/")
    record = Sandbox(SandboxSettings.from_env()).record()
    if record is None:
        raise CliError(NO_SANDBOX)
    return str(record["endpoint"]).rstrip("/")


def outputs_path(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    if from_env := os.environ.get("SKYBOOK_OUTPUTS_FILE"):
        return Path(from_env)
    return default_outputs()


def _same_endpoint(a: str, b: str) -> bool:
    def norm(url: str) -> tuple[str, int | None]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return ("127.0.0.1" if host == "localhost" else host), parts.port

    return norm(a) == norm(b)


def answers(endpoint: str, timeout: float = 3.0) -> bool:
    """Whether anything LocalStack-like listens there (its health page)."""
    try:
        request(f"{endpoint}/_localstack/health", timeout=timeout)
    except Unreachable:
        return False
    return True  # even an error page: something answers


@dataclass(frozen=True)
class AppContext:
    endpoint: str
    outputs: dict[str, Any]
    outputs_file: Path

    @property
    def region(self) -> str:
        """Where the stack lives (its SES templates, for the inbox)."""
        return str(self.outputs.get("region") or DEFAULT_REGION)


def app_context(args: argparse.Namespace) -> AppContext:
    """The sandbox and the stack on it, or a one-line error saying what to do."""
    endpoint = sandbox_endpoint(getattr(args, "endpoint", None))
    path = outputs_path(getattr(args, "outputs_file", None))
    return stack_on(endpoint, path, read_stack_outputs(path))


def read_stack_outputs(path: Path) -> dict[str, Any]:
    """The outputs file of a deploy, or a one-line error saying how to get one."""
    try:
        return read_outputs(path)
    except DeployError:
        raise CliError(
            f"the app is not deployed ({path} is missing): run 'skybook deploy'"
        ) from None
    except ValueError:
        raise CliError(f"{path} is not valid JSON: run 'skybook deploy' to rewrite it") from None


def stack_on(endpoint: str, path: Path, outputs: dict[str, Any]) -> AppContext:
    """``outputs`` (read from ``path``) if they describe a stack on ``endpoint``."""
    deployed_on = outputs.get("endpoint")
    if not deployed_on:
        raise CliError(
            f"{path} describes a stack on AWS, not the sandbox at {endpoint}: run "
            "'skybook deploy' (or pass --outputs-file)"
        )
    if not _same_endpoint(str(deployed_on), endpoint):
        if not answers(endpoint):
            raise CliError(f"no sandbox answers at {endpoint}: start one with ./scripts/up")
        raise CliError(
            f"{path} describes the stack on {deployed_on}, not on {endpoint}: run "
            "'skybook deploy' (or pass --outputs-file)"
        )
    return AppContext(endpoint=endpoint, outputs=outputs, outputs_file=path)
