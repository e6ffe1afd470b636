"""``sync`` and ``reset``: flights created by syncFlights now, or the app's data started over."""

from __future__ import annotations

import argparse
from typing import Any

from skybook import sesmail
from skybook.app import seed_flights
from skybook.commands.context import AppContext, add_options, app_context
from skybook.commands.output import print_json, progress


def _sync(ctx: AppContext) -> dict[str, Any]:
    app = ctx.view
    with app.friendly(f"function {ctx.outputs['functions']['syncFlights']}"):
        return seed_flights(app.target, ctx.outputs)


def cmd_sync(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    result = _sync(ctx)
    if args.json:
        print_json(result)
    else:
        print(
            f"syncFlights: {result.get('created', 0)} flights created, "
            f"{result.get('existing', 0)} already there"
        )
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    why = "it deletes every booking; on AWS, delete the stack with 'skybook destroy --aws'"
    ctx = app_context(args, sandbox_only=("reset", why))
    endpoint = str(ctx.endpoint)
    progress(f"deleting every item of {ctx.outputs['tableName']} ...")
    deleted = ctx.view.clear_table()
    progress("clearing the captured mail ...")
    emails = sesmail.clear(endpoint)
    progress("re-seeding flights (syncFlights) ...")
    seeded = _sync(ctx)
    if args.json:
        print_json({"deleted": deleted, "emails": emails, "seeded": seeded})
        return 0
    print(
        f"deleted {deleted['flights']} flights and {deleted['bookings']} bookings "
        f"from {ctx.outputs['tableName']}"
        + (f" (and {deleted['other']} other items)" if deleted["other"] else "")
    )
    print(f"cleared {emails} emails (all mail the sandbox captured)")
    print(f"re-seeded {seeded.get('created', 0)} flights")
    return 0


def register(sub: Any) -> None:
    sync = sub.add_parser("sync", help="run syncFlights now (creates missing flights only)")
    add_options(sync)
    sync.set_defaults(func=cmd_sync)

    reset = sub.add_parser(
        "reset", help="empty the table and the mail, then re-seed flights (the stack stays)"
    )
    add_options(reset)
    reset.set_defaults(func=cmd_reset)
