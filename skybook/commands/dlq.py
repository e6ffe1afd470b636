"""``dlq list`` and ``dlq redrive``: the events the app gave up on, and sending them again.

Thin on purpose: the queues and the redrive are :mod:`skybook.dlq`'s.
"""

from __future__ import annotations

import argparse
from typing import Any

from skybook import dlq
from skybook.commands.context import add_options, app_context
from skybook.commands.output import print_json, print_table
from skybook.errors import CliError

ERROR_WIDTH = 60


def _short(text: str, width: int = ERROR_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _logical_names(outputs: dict[str, Any]) -> dict[str, str]:
    """Deployed function name -> the app's name for it (``faults-registerBooking`` ->
    ``registerBooking``), which is what the other commands take."""
    return {str(name): logical for logical, name in (outputs.get("functions") or {}).items()}


def cmd_list(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    events = dlq.list_failed(ctx.outputs, ctx.target)
    if args.json:
        print_json([e.to_json() for e in events])
        return 0
    names = _logical_names(ctx.outputs)
    rows = [
        [
            e.id,
            e.failed_at[:19].replace("T", " "),
            names.get(e.function, e.function),
            e.attempts,
            e.booking_id or e.detail_type,
            _short(e.error),
        ]
        for e in events
    ]
    print_table(
        ["ID", "FAILED AT (UTC)", "FUNCTION", "ATTEMPTS", "BOOKING", "ERROR"],
        rows,
        empty="no failed events",
    )
    if events:
        print(
            "\nredrive: skybook dlq redrive ID... (or --all), once the cause is fixed; "
            "'skybook dlq list --json' shows the events"
        )
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    if args.all == bool(args.ids):
        raise CliError(
            "say what to redrive: one or more IDs, or --all ('skybook dlq list' shows the ids)"
        )
    ctx = app_context(args)
    result = dlq.redrive(ctx.outputs, ctx.target, None if args.all else args.ids)
    if args.json:
        print_json(result.to_json())
    else:
        names = _logical_names(ctx.outputs)
        for event in result.redriven:
            about = f", booking {event.booking_id}" if event.booking_id else ""
            print(f"redriven {event.id} ({names.get(event.function, event.function)}{about})")
        for event, why in result.failed:
            print(f"not redriven {event.id}: {why} (it stays in the queue)")
        if not result.redriven and not result.failed:
            print("no failed events")
        elif result.redriven:
            print(
                f"{len(result.redriven)} event(s) handed to Lambda again; an event that fails "
                "again comes back here ('skybook dlq list')"
            )
    return 1 if result.failed else 0


def register(sub: Any) -> None:
    group = sub.add_parser(
        "dlq", help="events a function gave up on: list them, send them through again"
    )
    actions = group.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the failed events, oldest first")
    add_options(listing)
    listing.set_defaults(func=cmd_list)

    again = actions.add_parser(
        "redrive", help="re-invoke the failed function with the event, then drop it from the queue"
    )
    again.add_argument("ids", nargs="*", metavar="ID", help="events to redrive (see 'dlq list')")
    again.add_argument("--all", action="store_true", help="redrive every failed event")
    add_options(again)
    again.set_defaults(func=cmd_redrive)
