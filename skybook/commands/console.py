"""``console``: serve the console page in the foreground (``up`` also starts it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from skybook.app import default_outputs


def cmd_console(args: argparse.Namespace) -> int:
    from skybook.console import ConsoleData, ConsoleServer, console_port

    outputs_file = Path(args.outputs_file)
    if args.endpoint is None and not outputs_file.is_file():
        from skybook.errors import CliError

        raise CliError(
            f"no outputs file at {outputs_file}: deploy the app first (./scripts/up), "
            "or pass --endpoint and --outputs-file"
        )
    data = ConsoleData(endpoint=args.endpoint, outputs_file=outputs_file)
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
        "--endpoint", help="sandbox endpoint (default: the one in the outputs file)"
    )
    console.add_argument(
        "--outputs-file",
        default=str(default_outputs()),
        help=f"the deployed stack's outputs (default {default_outputs()}; re-read when it changes)",
    )
    console.add_argument("--verbose", action="store_true", help="log every request to stderr")
    console.set_defaults(func=cmd_console)
