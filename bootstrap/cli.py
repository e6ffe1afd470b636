"""``python -m bootstrap plan|apply|destroy|outputs``: the deployer on the command line.

Errors the user can fix end as one line on stderr naming the problem and the fix, with
exit status 1; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bootstrap.deployer import deploy, destroy, destroy_plan, outputs, plan
from bootstrap.errors import DeployError, friendly_message
from bootstrap.settings import Settings
from bootstrap.steps import Plan, Step
from bootstrap.target import DEFAULT_REGION, Target

LOCAL_ENDPOINT = "http://127.0.0.1:4566"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m bootstrap",
        description="Plan, apply or destroy the skybook stack on LocalStack or AWS.",
    )
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint",
        metavar="URL",
        help=f"an AWS-compatible endpoint such as LocalStack (default: $AWS_ENDPOINT_URL or "
        f"{LOCAL_ENDPOINT}); credentials test/test unless --profile is given",
    )
    where.add_argument("--aws", action="store_true", help="real AWS, default credentials")
    common.add_argument("--profile", metavar="P", help="an AWS profile (implies real AWS)")
    common.add_argument("--region", metavar="R", help=f"default: $AWS_REGION or {DEFAULT_REGION}")
    common.add_argument("--stack-name", metavar="N", default="skybook")
    common.add_argument(
        "--schedule",
        metavar="EXPR",
        help="syncFlights schedule: rate(...) or cron(...)",
    )
    sender = common.add_mutually_exclusive_group()
    sender.add_argument("--sender-email", metavar="E", help="SES identity and From address")
    sender.add_argument(
        "--sender-domain",
        metavar="D",
        help="verify a domain; From bookings@D",
    )
    common.add_argument("--functions-dir", metavar="DIR", type=Path)
    common.add_argument("--outputs-file", metavar="F", type=Path)
    common.add_argument("--stage", metavar="S", help="API Gateway stage (default prod)")
    common.add_argument(
        "--event-log",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="copy every bus event to the log group /aws/events/<stack> "
        "(default: on for an endpoint, off for AWS)",
    )
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser("plan", parents=[common], help="show what apply would change")
    p.add_argument("--destroy", action="store_true", help="show what destroy would delete")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
    commands.add_parser("apply", parents=[common], help="create or update the stack")
    d = commands.add_parser("destroy", parents=[common], help="delete every resource of the stack")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation on AWS")
    d.add_argument("--keep-identity", action="store_true", help="leave the SES identity")
    commands.add_parser("outputs", parents=[common], help="print the deployed stack's outputs")
    return top


def command_parser(command: str) -> argparse.ArgumentParser:
    """The parser of one subcommand (``apply``, ``plan``...), for CLIs that reuse its options."""
    top = parser()
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    raise AssertionError("the bootstrap parser has no subcommands")


def target_from(args: argparse.Namespace) -> Target:
    region = (
        args.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )
    if args.aws or (args.profile and not args.endpoint):
        return Target(profile=args.profile, region=region)
    endpoint = args.endpoint or os.environ.get("AWS_ENDPOINT_URL") or LOCAL_ENDPOINT
    return Target(endpoint=endpoint, profile=args.profile, region=region)


def settings_from(args: argparse.Namespace, target: Target) -> Settings:
    values: dict[str, Any] = {"stack_name": args.stack_name}
    for option, name in [
        ("schedule", "schedule"),
        ("sender_email", "sender_email"),
        ("sender_domain", "sender_domain"),
        ("functions_dir", "functions_dir"),
        ("outputs_file", "outputs_file"),
        ("stage", "stage"),
    ]:
        if getattr(args, option) is not None:
            values[name] = getattr(args, option)
    values["event_log"] = target.is_local if args.event_log is None else args.event_log
    values["keep_identity"] = getattr(args, "keep_identity", False)
    return Settings(**values)


def print_steps(steps: list[Step]) -> None:
    for step in steps:
        if step.is_change:
            print(step.describe())


def print_notes(notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


def steps_json(steps: list[Step]) -> list[dict[str, Any]]:
    return [
        {
            "action": s.verb,
            "kind": s.kind,
            "name": s.name,
            "changes": list(getattr(s, "changes", ())),
        }
        for s in steps
        if s.is_change
    ]


def run(args: argparse.Namespace) -> int:
    target = target_from(args)
    settings = settings_from(args, target)
    if args.command == "plan":
        the_plan: Plan = destroy_plan(settings, target) if args.destroy else plan(settings, target)
        if args.json:
            print(json.dumps({"changes": steps_json(the_plan.steps)}, indent=2))
        else:
            print_steps(the_plan.steps)
            print(the_plan.summary())
        print_notes(the_plan.notes)
        return 2 if args.detailed_exitcode and the_plan.changes else 0
    if args.command == "apply":
        result = deploy(settings, target)
        if args.json:
            print(
                json.dumps(
                    {"applied": steps_json(result.applied), "outputs": result.outputs}, indent=2
                )
            )
        else:
            print(result.summary())  # the steps went to stderr as they ran
            print(f"POST {result.outputs['bookFlightUrl']}")
        print_notes(result.notes)
        return 0
    if args.command == "destroy":
        if not target.is_local and not args.yes and not confirm_destroy(settings, target):
            print("destroy cancelled", file=sys.stderr)
            return 1
        result = destroy(settings, target)
        if args.json:
            print(json.dumps({"applied": steps_json(result.applied)}, indent=2))
        else:
            print(result.summary() if result.applied else "Nothing to delete.")
        print_notes(result.notes)
        return 0
    if args.command == "outputs":
        print(json.dumps(outputs(settings, target), indent=2, sort_keys=True))
        return 0
    raise AssertionError(args.command)


def confirm_destroy(settings: Settings, target: Target) -> bool:
    if not sys.stdin.isatty():
        raise DeployError(f"destroy on {target.describe()} needs confirmation: pass --yes")
    answer = input(
        f"Delete stack {settings.stack_name} on {target.describe()}? "
        "Type the stack name to confirm: "
    )
    return answer.strip() == settings.stack_name


def error_message(error: BaseException, target: Target | None) -> str | None:
    """A one-line message for errors the user can act on (None: a bug, show the traceback)."""
    unreachable = target.unreachable_message() if target else str(error)
    return friendly_message(error, unreachable)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    target: Target | None = None
    try:
        target = target_from(args)
        return run(args)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to finish", file=sys.stderr)
        return 130
    except Exception as error:
        message = error_message(error, target)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
