"""``deploy``, ``plan``, ``destroy``, ``outputs``: bootstrap, aimed at the sandbox by default.

The options are bootstrap's own (``python -m bootstrap apply --help``), borrowed from its
parser so the two CLIs never drift apart. Without ``--aws``/``--profile`` the target is
the running sandbox and the settings are :func:`skybook.app.sandbox_settings` (plus any
option given), so ``skybook deploy`` deploys exactly what ``up`` does, seeding included.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from bootstrap import Settings, Target, destroy, outputs, plan
from bootstrap import cli as bootstrap_cli
from bootstrap.deployer import destroy_plan
from bootstrap.steps import Plan
from skybook.app import print_welcome, sandbox_settings, seed_flights
from skybook.commands import context
from skybook.commands.output import print_json, print_table


def target_and_settings(args: argparse.Namespace) -> tuple[Target, Settings]:
    """Bootstrap's target and settings for these options; the sandbox's unless --aws."""
    if not context.wants_aws(args):
        args.endpoint = context.sandbox_endpoint(args.endpoint)
    target = bootstrap_cli.target_from(args)
    settings = bootstrap_cli.settings_from(args, target)
    if target.is_local:
        defaults = Settings()
        changed = {
            f.name: getattr(settings, f.name)
            for f in dataclasses.fields(Settings)
            if getattr(settings, f.name) != getattr(defaults, f.name)
        }
        settings = sandbox_settings(**changed)
    return target, settings


def cmd_deploy(args: argparse.Namespace) -> int:
    target, settings = target_and_settings(args)
    # The sender check, then on AWS the plan and a "yes" (or --yes); steps go to stderr.
    result = bootstrap_cli.apply_confirmed(settings, target, yes=args.yes)
    if result is None:
        return 1
    seeded = seed_flights(target, result.outputs) if target.is_local and not args.no_seed else None
    if args.json:
        print_json(
            {
                "applied": bootstrap_cli.steps_json(result.applied),
                "outputs": result.outputs,
                "seeded": seeded,
            }
        )
    else:
        print(result.summary())
        if seeded is not None:
            print(f"flights: {seeded.get('created', 0)} created, {seeded.get('existing', 0)} kept")
        if target.endpoint:
            print_welcome(target.endpoint, result.outputs)
        else:
            print(f"POST {result.outputs['bookFlightUrl']}")
    bootstrap_cli.print_notes(result.notes)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    target, settings = target_and_settings(args)
    bootstrap_cli.announce(target, to_stdout=not args.json)  # account and region first
    the_plan: Plan = destroy_plan(settings, target) if args.destroy else plan(settings, target)
    if args.json:
        print_json({"changes": bootstrap_cli.steps_json(the_plan.steps)})
    else:
        bootstrap_cli.print_steps(the_plan.steps)
        print(the_plan.summary())
    bootstrap_cli.print_notes(the_plan.notes)
    return 2 if args.detailed_exitcode and the_plan.changes else 0


def cmd_destroy(args: argparse.Namespace) -> int:
    target, settings = target_and_settings(args)
    bootstrap_cli.announce(target, to_stdout=False)
    if not target.is_local and not args.yes and not bootstrap_cli.confirm_destroy(settings, target):
        print("destroy cancelled")
        return 1
    result = destroy(settings, target)
    if args.json:
        print_json({"applied": bootstrap_cli.steps_json(result.applied)})
    else:
        print(result.summary() if result.applied else "Nothing to delete.")
    bootstrap_cli.print_notes(result.notes)
    return 0


def cmd_outputs(args: argparse.Namespace) -> int:
    target, settings = target_and_settings(args)
    values = outputs(settings, target)
    if args.json:
        print_json(values)
        return 0
    rows: list[list[Any]] = []
    for key, value in sorted(values.items()):
        if isinstance(value, dict):
            rows += [[f"{key}.{k}", v] for k, v in sorted(value.items())]
        elif isinstance(value, list):
            rows.append([key, ", ".join(map(str, value))])
        else:
            rows.append([key, value])
    print_table(["OUTPUT", "VALUE"], rows)
    return 0


def _add(sub: Any, name: str, bootstrap_name: str, help_text: str, func: Any) -> Any:
    parser = sub.add_parser(
        name,
        parents=[bootstrap_cli.command_parser(bootstrap_name)],
        add_help=False,  # the parent's -h is copied along
        help=help_text,
        description=f"{help_text}. On the running sandbox unless --aws or --profile is given.",
    )
    endpoint = parser._option_string_actions["--endpoint"]
    endpoint.help = "the sandbox (default: $SKYBOOK_ENDPOINT, else the running sandbox)"
    parser.set_defaults(func=func)
    return parser


def register(sub: Any) -> None:
    deploy_parser = _add(
        sub, "deploy", "apply", "create or update the app's stack and seed flights", cmd_deploy
    )
    deploy_parser.add_argument(
        "--no-seed", action="store_true", help="do not run syncFlights after deploying"
    )
    _add(sub, "plan", "plan", "show what deploy would change", cmd_plan)
    _add(sub, "destroy", "destroy", "delete every resource of the app's stack", cmd_destroy)
    _add(sub, "outputs", "outputs", "the deployed stack's names and URLs", cmd_outputs)
