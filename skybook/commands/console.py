"""``console``: serve the console page in the foreground (``up`` also starts it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from skybook.commands.context import sandbox_endpoint


def cmd_console(args: argparse.Namespace) -> int:
    from skybook.console import ConsoleData, ConsoleServer, console_port

    data = ConsoleData(sandbox_endpoint(args.endpoint), args.stack_name)
    server = ConsoleServer(data, console_port(args.port), verbose=args.verbose)
    print(f"console: {server.url}   (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("console stopped", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    console = sub.add_parser(
        "console", help="serve the console page (flights, bookings, inbox, events, logs)"
    )
    console.add_argument(
        "--port", type=int, help="port on 127.0.0.1 (default 4580 or SKYBOOK_CONSOLE_PORT)"
    )
    console.add_argument(
        "--endpoint",
        metavar="URL",
        help="a LocalStack running the app (default: as every app command finds it); the "
        "console is sandbox-only: it shows LocalStack's captured mail",
    )
    console.add_argument("--stack-name", metavar="NAME", default="skybook")
    console.add_argument("--verbose", action="store_true", help="log every request to stderr")
    console.set_defaults(func=cmd_console)
