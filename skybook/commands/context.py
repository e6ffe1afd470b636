"""Which LocalStack (or AWS account) and which deployed stack a command talks to.

Where: ``--aws`` / ``--profile P`` is real AWS (credentials and region found as bootstrap, and
the AWS CLI, find them). Otherwise a LocalStack endpoint: ``--endpoint URL``, else
``$SKYBOOK_ENDPOINT`` (the one variable the CLI, the tests and bootstrap share), else the
embedded sandbox that ``up`` started, else ``http://127.0.0.1:4566`` when a LocalStack answers
there (``docker compose up``, say).

Which stack: ``--stack-name`` (default ``skybook``) and ``--stage`` (default: the stack's
default stage; other stages are deployments of their own, see bootstrap/README.md). Its
outputs (API URL, table, functions, queues...) are read from the stack itself, its tagged
resources, every time: nothing local is needed, so the CLI works against any LocalStack
running the app, or the stack on AWS, whoever deployed it.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from bootstrap import Target, stack_outputs
from bootstrap.errors import friendly_message
from bootstrap.target import DEFAULT_REGION, resolve_target
from sandbox.runner import Sandbox, SandboxSettings
from skybook import appdata
from skybook.errors import CliError
from skybook.httpclient import Unreachable, request

ENDPOINT_VARIABLE = "SKYBOOK_ENDPOINT"
DEFAULT_STACK = "skybook"
NO_SANDBOX = (
    "no sandbox is running: start one with ./scripts/up (or ./scripts/up --docker), "
    f"or pass --endpoint URL / set ${ENDPOINT_VARIABLE}"
)


def add_options(parser: argparse.ArgumentParser, *, json_help: str | None = None) -> None:
    """Where the stack is (``--endpoint`` or ``--aws``/``--profile``/``--region``), which
    stack (``--stack-name``), and ``--json``: every app command has them."""
    where = parser.add_argument_group("where the app runs")
    where.add_argument(
        "--endpoint",
        metavar="URL",
        help=f"a LocalStack running the app (default: ${ENDPOINT_VARIABLE}, else the running "
        "sandbox, else http://127.0.0.1:4566 when a LocalStack answers there)",
    )
    where.add_argument(
        "--aws", action="store_true", help="the stack on real AWS (default credentials)"
    )
    where.add_argument("--profile", metavar="P", help="the stack on real AWS, with this profile")
    where.add_argument(
        "--region", metavar="R", help="AWS region (default: as the AWS CLI finds it)"
    )
    where.add_argument(
        "--stack-name", metavar="NAME", default=DEFAULT_STACK, help="default: %(default)s"
    )
    where.add_argument("--stage", metavar="S", help="the stack's stage (default: its default)")
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


def answers(endpoint: str, timeout: float = 3.0) -> bool:
    """Whether anything LocalStack-like listens there (its health page)."""
    try:
        request(f"{endpoint}/_localstack/health", timeout=timeout)
    except Unreachable:
        return False
    return True  # even an error page: something answers


def sandbox_endpoint(explicit: str | None = None) -> str:
    """The LocalStack to use, or a :class:`CliError` saying how to start one."""
    if explicit:
        return explicit.rstrip("/")
    if from_env := os.environ.get(ENDPOINT_VARIABLE):
        return from_env.rstrip("/")
    settings = SandboxSettings.from_env()
    record = Sandbox(settings).record()
    if record is not None:
        return str(record["endpoint"]).rstrip("/")
    if answers(settings.endpoint, timeout=1.0):
        return settings.endpoint  # not ours to know who started it: docker compose, say
    raise CliError(NO_SANDBOX)


def wants_aws(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "aws", False) or getattr(args, "profile", None))


def target_of(args: argparse.Namespace) -> Target:
    """The target the options name; a LocalStack endpoint unless ``--aws``/``--profile``."""
    if wants_aws(args):
        if getattr(args, "endpoint", None):
            raise CliError("--endpoint and --aws/--profile name two targets: pick one")
        return resolve_target(aws=True, profile=args.profile, region=args.region)
    endpoint = sandbox_endpoint(getattr(args, "endpoint", None))
    return Target.local(endpoint, getattr(args, "region", None) or DEFAULT_REGION)


@dataclass
class AppContext:
    """The app's stack on one target, as its own resources describe it."""

    target: Target
    outputs: dict[str, Any]
    _view: appdata.AppView | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str | None:
        """The LocalStack endpoint; None on AWS."""
        return self.target.endpoint

    @property
    def region(self) -> str:
        return str(self.outputs.get("region") or self.target.region)

    @property
    def view(self) -> appdata.AppView:
        """The app's data (table, logs, queues) through this target's clients."""
        if self._view is None:
            self._view = appdata.AppView(self.target, self.outputs)
        return self._view


def app_context(
    args: argparse.Namespace, *, sandbox_only: tuple[str, str] | None = None
) -> AppContext:
    """The target and the stack on it, or a one-line error saying what to do.

    ``sandbox_only``: (what, why) for a command that needs a LocalStack; on AWS it is refused
    before anything is read there."""
    target = target_of(args)
    if sandbox_only is not None and target.endpoint is None:
        what, why = sandbox_only
        raise CliError(f"{what} is sandbox-only: {why}")
    stack = getattr(args, "stack_name", None) or DEFAULT_STACK
    if target.endpoint is not None and not answers(target.endpoint):
        raise CliError(f"nothing answers at {target.endpoint}: start the sandbox with ./scripts/up")
    stage = getattr(args, "stage", None)
    try:
        outputs = stack_outputs(target, stack, stage)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise CliError(
            friendly_message(error, target.unreachable_message()) or str(error)
        ) from None
    return AppContext(target=target, outputs=outputs)
