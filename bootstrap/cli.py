"""``python -m bootstrap plan|apply|destroy|outputs|policy``: the deployer on the command line.

Errors the user can fix end as one line on stderr naming the problem and the fix, with
exit status 1; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bootstrap import policy as policy_module
from bootstrap.deployer import Result, deploy, destroy, destroy_plan, outputs, plan
from bootstrap.errors import DeployError, friendly_message
from bootstrap.models import Throttle
from bootstrap.sender import check_sender
from bootstrap.settings import API_AUTH, DEFAULT_STAGE, DEFAULT_THROTTLE, Settings
from bootstrap.steps import Plan, Step
from bootstrap.target import ENDPOINT_ENV, LOCAL_ENDPOINT, Target, resolve_target


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m bootstrap",
        description="Plan, apply or destroy the skybook stack on LocalStack or AWS.",
    )
    where_parent = argparse.ArgumentParser(add_help=False)
    where = where_parent.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint",
        metavar="URL",
        help=f"an AWS-compatible endpoint such as LocalStack (default: ${ENDPOINT_ENV} or "
        f"{LOCAL_ENDPOINT}); credentials test/test unless --profile is given",
    )
    where.add_argument(
        "--aws",
        action="store_true",
        help="real AWS, credentials as the AWS CLI finds them ($AWS_PROFILE, SSO, ...)",
    )
    where_parent.add_argument("--profile", metavar="P", help="an AWS profile (implies real AWS)")
    where_parent.add_argument(
        "--region",
        metavar="R",
        help="default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region "
        "(an endpoint: us-east-1)",
    )
    common = argparse.ArgumentParser(add_help=False, parents=[where_parent])
    common.add_argument("--stack-name", metavar="N", default="skybook")
    common.add_argument(
        "--stage",
        metavar="S",
        help=f"API Gateway stage (default {DEFAULT_STAGE}); any other stage is a deployment "
        "of its own, named <stack>-<stage>-...",
    )
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
    common.add_argument(
        "--outputs-file",
        metavar="F",
        type=Path,
        help="also write the outputs to F (they are read from the stack otherwise)",
    )
    common.add_argument(
        "--tag",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a tag for every taggable resource (repeatable)",
    )
    common.add_argument(
        "--event-log",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="copy every bus event to the log group /aws/events/<stack> "
        "(default: on for an endpoint, off for AWS)",
    )
    api = common.add_argument_group("the API")
    api.add_argument(
        "--api-auth",
        choices=API_AUTH,
        default="none",
        help="who may call POST /book-flight: anyone (none, default), holders of the stack's "
        "API key (api-key, with a usage plan), or signed IAM principals (iam)",
    )
    api.add_argument(
        "--throttle-rate",
        metavar="RPS",
        type=float,
        help=f"requests a second the stage admits (default on AWS: {DEFAULT_THROTTLE.rate:g}; "
        "an endpoint: unthrottled)",
    )
    api.add_argument(
        "--throttle-burst",
        metavar="N",
        type=int,
        help=f"requests at once above the rate (default on AWS: {DEFAULT_THROTTLE.burst})",
    )
    api.add_argument(
        "--no-throttle", action="store_true", help="no stage throttling (the account's limits)"
    )
    api.add_argument(
        "--api-quota",
        metavar="N",
        type=int,
        help="requests a day the API key may make (--api-auth api-key; default 1000)",
    )
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser("plan", parents=[common], help="show what apply would change")
    p.add_argument("--destroy", action="store_true", help="show what destroy would delete")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
    a = commands.add_parser("apply", parents=[common], help="create or update the stack")
    a.add_argument("--yes", action="store_true", help="do not ask for confirmation on AWS")
    d = commands.add_parser("destroy", parents=[common], help="delete every resource of the stack")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation on AWS")
    d.add_argument("--keep-identity", action="store_true", help="leave the SES identity")
    commands.add_parser("outputs", parents=[common], help="print the deployed stack's outputs")
    policy_module.add_parser(commands, where_parent)
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
    """The target of the options (see :func:`bootstrap.target.resolve_target`)."""
    return resolve_target(
        endpoint=args.endpoint, aws=args.aws, profile=args.profile, region=args.region
    )


def _tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise DeployError(f"--tag {pair!r} is not KEY=VALUE: write it like --tag team=web")
        tags[key] = value
    return tags


def _throttle(args: argparse.Namespace, target: Target) -> Throttle | None:
    """The stage's throttling: on by default on AWS, off on an endpoint (the sandbox keeps
    its frictionless default; LocalStack 4.14 does not enforce it anyway)."""
    rate, burst = getattr(args, "throttle_rate", None), getattr(args, "throttle_burst", None)
    if getattr(args, "no_throttle", False):
        if rate is not None or burst is not None:
            raise DeployError(
                "--no-throttle and --throttle-rate/--throttle-burst exclude each other"
            )
        return None
    if rate is None and burst is None:
        return None if target.is_local else DEFAULT_THROTTLE
    return Throttle(
        rate=DEFAULT_THROTTLE.rate if rate is None else rate,
        burst=DEFAULT_THROTTLE.burst if burst is None else burst,
    )


def settings_from(args: argparse.Namespace, target: Target) -> Settings:
    values: dict[str, Any] = {"stack_name": args.stack_name}
    for option, name in [
        ("schedule", "schedule"),
        ("sender_email", "sender_email"),
        ("sender_domain", "sender_domain"),
        ("functions_dir", "functions_dir"),
        ("outputs_file", "outputs_file"),
        ("stage", "stage"),
        ("api_quota", "api_quota_per_day"),
    ]:
        if getattr(args, option, None) is not None:
            values[name] = getattr(args, option)
    values["event_log"] = target.is_local if args.event_log is None else args.event_log
    values["keep_identity"] = getattr(args, "keep_identity", False)
    values["tags"] = _tags(getattr(args, "tag", None) or [])
    values["throttle"] = _throttle(args, target)
    values["api_auth"] = getattr(args, "api_auth", None) or "none"
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


def target_json(target: Target) -> dict[str, Any]:
    return {"account": target.account, "region": target.region, "endpoint": target.endpoint}


def announce(target: Target, *, to_stdout: bool) -> None:
    """Where the changes land, before anything else (an AWS target's account and region)."""
    print(target.banner(), file=sys.stdout if to_stdout else sys.stderr)
    if redirected := target.redirected_to():
        print(f"note: AWS_ENDPOINT_URL sends these calls to {redirected}", file=sys.stderr)


def run(args: argparse.Namespace, target: Target) -> int:
    if args.command == "policy":
        return policy_module.run(args, target)
    settings = settings_from(args, target)
    if args.command == "plan":
        if not args.json:
            announce(target, to_stdout=True)
        the_plan: Plan = destroy_plan(settings, target) if args.destroy else plan(settings, target)
        if args.json:
            print(
                json.dumps(
                    {"target": target_json(target), "changes": steps_json(the_plan.steps)},
                    indent=2,
                )
            )
        else:
            print_steps(the_plan.steps)
            print(the_plan.summary())
        print_notes(the_plan.notes)
        return 2 if args.detailed_exitcode and the_plan.changes else 0
    if args.command == "apply":
        result = apply_confirmed(settings, target, yes=args.yes)
        if result is None:
            return 1
        if args.json:
            print(
                json.dumps(
                    {"applied": steps_json(result.applied), "outputs": result.outputs}, indent=2
                )
            )
        else:
            print(result.summary())  # the steps went to stderr as they ran
            print(f"POST {result.outputs['bookFlightUrl']}")
            if result.outputs.get("apiKeyId"):
                print(
                    "API key: send it as x-api-key; its value: aws apigateway get-api-key "
                    f"--api-key {result.outputs['apiKeyId']} --include-value --query value"
                )
        print_notes(result.notes)
        return 0
    if args.command == "destroy":
        announce(target, to_stdout=False)
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


def apply_confirmed(settings: Settings, target: Target, *, yes: bool) -> Result | None:
    """``apply`` as the command lines do it (None: the user said no).

    The sender is checked first (nothing is created for one SES could never verify). On AWS
    without ``yes`` the plan is shown and only ``yes`` goes ahead, as with Terraform and CDK;
    with no terminal to ask on, it is refused before any call. The target's account and
    region are printed before anything changes.
    """
    check_sender(settings, target)
    ask = not target.is_local and not yes
    if ask and not sys.stdin.isatty():
        raise DeployError(
            f"apply to {target.describe()} needs confirmation: pass --yes (review the "
            "changes first with 'python -m bootstrap plan')"
        )
    announce(target, to_stdout=False)
    planned = None
    if ask:
        planned = plan(settings, target)
        if planned.changes and not confirm_apply(planned, target):
            print("apply cancelled", file=sys.stderr)
            return None
    return deploy(settings, target, planned=planned)


def confirm_apply(the_plan: Plan, target: Target) -> bool:
    """Show the plan and ask, as Terraform and CDK do: only ``yes`` goes ahead."""
    print_steps(the_plan.steps)
    print(the_plan.summary())
    print_notes(the_plan.notes)
    answer = input(
        f"Apply these changes to AWS account {target.account} in {target.region}? "
        "Only 'yes' is accepted: "
    )
    return answer.strip() == "yes"


def confirm_destroy(settings: Settings, target: Target) -> bool:
    if not sys.stdin.isatty():
        raise DeployError(f"destroy on {target.describe()} needs confirmation: pass --yes")
    answer = input(
        f"Delete stack {settings.deployment} on {target.describe()}? "
        "Type the stack name to confirm: "
    )
    return answer.strip() == settings.deployment


def error_message(error: BaseException, target: Target | None) -> str | None:
    """A one-line message for errors the user can act on (None: a bug, show the traceback)."""
    unreachable = target.unreachable_message() if target else str(error)
    return friendly_message(error, unreachable)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    target: Target | None = None
    try:
        target = target_from(args)
        return run(args, target)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to finish", file=sys.stderr)
        return 130
    except Exception as error:
        message = error_message(error, target)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
