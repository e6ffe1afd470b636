"""``logs`` and ``events``: what the functions wrote and what crossed the bus, once or
``--follow``-ed until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from skybook import appdata
from skybook.commands.context import add_options, app_context, positive
from skybook.commands.output import print_json
from skybook.commands.views import event_ms, event_text, log_text
from skybook.contract import FUNCTION_NAMES

T = TypeVar("T")
FOLLOW_SECONDS = 1.0
# Log events can be ingested a little after their timestamp: look back this far when following.
FOLLOW_LOOKBACK_MS = 15_000


def follow(
    fetch: Callable[[int | None], list[T]],
    key: Callable[[T], str],
    stamp: Callable[[T], int],
    show: Callable[[T], None],
) -> int:
    """Show new items as they come, until Ctrl-C or SIGTERM (which are success, exit 0).

    The signals only set a flag, checked between polls: a KeyboardInterrupt raised inside a
    boto3 call could otherwise land anywhere, even in code that does not let go of it.
    """
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda _signum, _frame: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    seen: set[str] = set()
    since: int | None = None
    try:
        while not stop.is_set():
            newest = int(time.time() * 1000)
            for item in fetch(since):
                if key(item) not in seen:
                    seen.add(key(item))
                    show(item)
                newest = max(newest, stamp(item))
            since = newest - FOLLOW_LOOKBACK_MS
            stop.wait(FOLLOW_SECONDS)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    ctx = app_context(args)

    def fetch(since: int | None) -> list[appdata.LogLine]:
        return appdata.function_logs(
            ctx.outputs,
            ctx.target,
            args.function,
            booking_id=args.booking,
            since_ms=since,
            limit=args.limit,
        )

    if args.follow:

        def show(line: appdata.LogLine) -> None:
            print(json.dumps(line.to_json()) if args.json else log_text(line), flush=True)

        return follow(fetch, lambda line: line.id, lambda line: line.timestamp, show)
    lines = fetch(None)
    if args.json:
        print_json([line.to_json() for line in lines])
    elif not lines:
        print(f"(no log lines{' about ' + args.booking if args.booking else ''})")
    for line in [] if args.json else lines:
        print(log_text(line))
    return 0


def _booking_of(event: dict[str, Any]) -> str | None:
    detail = event.get("detail")
    return str(detail.get("bookingId")) if isinstance(detail, dict) else None


def cmd_events(args: argparse.Namespace) -> int:
    ctx = app_context(args)

    def fetch(since: int | None) -> list[dict[str, Any]]:
        found = appdata.events(ctx.outputs, ctx.target, since_ms=since, limit=args.limit)
        return [e for e in found if args.booking is None or _booking_of(e) == args.booking]

    if args.follow:

        def show(event: dict[str, Any]) -> None:
            print(json.dumps(event) if args.json else event_text(event), flush=True)

        return follow(fetch, lambda e: str(e.get("id")), event_ms, show)
    found = fetch(None)
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("(no events yet)")
    for event in found:
        print(event_text(event))
    return 0


def register(sub: Any) -> None:
    logs = sub.add_parser("logs", help="a function's CloudWatch log")
    logs.add_argument("function", metavar="FUNCTION", help=", ".join(FUNCTION_NAMES))
    logs.add_argument("--booking", metavar="ID", help="only lines about this booking")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until Ctrl-C")
    logs.add_argument("--limit", type=positive, default=200, metavar="N", help="default 200")
    add_options(logs, json_help="JSON on stdout (one object per line with --follow)")
    logs.set_defaults(func=cmd_logs)

    events = sub.add_parser("events", help="the events on the app's bus")
    events.add_argument("--booking", metavar="ID", help="only events about this booking")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing until Ctrl-C")
    events.add_argument("--limit", type=positive, default=100, metavar="N", help="default 100")
    add_options(events, json_help="JSON on stdout (one object per line with --follow)")
    events.set_defaults(func=cmd_events)
