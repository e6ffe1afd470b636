"""``debug``: a function's next execution environment starts under debugpy and waits for an IDE.

The environment listens on 127.0.0.1 only; attach VS Code with the launch configuration in
docs/debugging.md (its path mappings turn /var/task, where the function's code is on AWS,
into functions/<folder>). ``debug --off`` ends it; so does stopping the sandbox.
"""

from __future__ import annotations

import argparse
from typing import Any

from sandbox import devmode
from sandbox.runner import Sandbox, SandboxSettings, port_in_use
from skybook.commands.context import NO_SANDBOX, app_context
from skybook.errors import CliError

DEFAULT_PORT = 5678  # debugpy's and VS Code's usual one


def deployed_name(outputs: dict[str, Any], function: str) -> str:
    """``registerBooking`` or ``skybook-registerBooking`` -> the deployed name."""
    functions: dict[str, str] = outputs.get("functions", {})
    if function in functions:
        return functions[function]
    if function in functions.values():
        return function
    known = ", ".join(sorted(functions)) or "none (deploy the app first)"
    raise CliError(f"no function {function!r} in the deployed stack: use one of {known}")


def running_sandbox() -> Sandbox:
    sandbox = Sandbox(SandboxSettings.from_env())
    if sandbox.record() is None:
        raise CliError(NO_SANDBOX)
    return sandbox


def enable(sandbox: Sandbox, name: str, port: int) -> None:
    """``name``'s idle environments stop; the next one listens on ``port`` for an IDE."""
    if not 1024 <= port < 65536:
        raise CliError(f"port {port} is out of range: use 1024 to 65535 (default {DEFAULT_PORT})")
    state = devmode.read(sandbox.dev_file)
    taken = {d["port"]: n for n, d in state.debug.items() if n != name}
    if port in taken:
        raise CliError(f"port {port} is already {taken[port]}'s debugger port: pick another")
    if port_in_use("127.0.0.1", port):
        raise CliError(f"port {port} on 127.0.0.1 is in use: pick another with --port")
    devmode.update(sandbox.dev_file, lambda s: s.debug.__setitem__(name, {"port": port}))


def disable(sandbox: Sandbox, name: str | None) -> list[str]:
    """Debugging off for ``name`` (or every function); returns the functions it was on for."""
    ended: list[str] = []

    def change(state: devmode.DevState) -> None:
        for function in [name] if name else list(state.debug):
            if state.debug.pop(function, None) is not None:
                ended.append(function)

    devmode.update(sandbox.dev_file, change)
    return ended


def cmd_debug(args: argparse.Namespace) -> int:
    if not args.off and not args.function:  # bad usage: exit 2, before anything is asked
        args.usage_error("say which function to debug, e.g. `skybook debug registerBooking`")
    sandbox = running_sandbox()
    outputs = app_context(args).outputs
    if args.off:
        name = deployed_name(outputs, args.function) if args.function else None
        ended = disable(sandbox, name)
        print(f"debugging off for {', '.join(ended)}" if ended else "no function was debugged")
        return 0
    name = deployed_name(outputs, args.function)
    enable(sandbox, name, args.port)
    print_attach_hint(name, args.port)
    return 0


def print_attach_hint(name: str, port: int) -> None:
    print(
        f"{name}'s next execution environment starts under debugpy on 127.0.0.1:{port} and "
        "waits for your IDE to attach before it runs the function's init.\n"
        f"  invoke it (book a flight, say), then attach: VS Code's 'skybook: attach' "
        f"configuration, port {port} (docs/debugging.md)\n"
        f"  timeouts are off while it is debugged; end it with: skybook debug --off",
        flush=True,
    )


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "debug",
        help="start a function's next environment under debugpy, for an IDE",
        description="The function's idle environments stop; the next one starts under "
        "debugpy on 127.0.0.1:PORT and waits for an IDE to attach (docs/debugging.md). "
        "Needs a running embedded sandbox.",
    )
    parser.add_argument("function", nargs="?", help="e.g. registerBooking (or its deployed name)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"debugpy's port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--off", action="store_true", help="stop debugging FUNCTION (default: every function)"
    )
    parser.add_argument("--stack-name", metavar="NAME", default="skybook")
    parser.set_defaults(func=cmd_debug, usage_error=parser.error)
