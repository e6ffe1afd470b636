"""``up``, ``down``, ``status``: the sandbox and the app on it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sandbox.control import serve, start_detached, stop_detached
from sandbox.runner import Sandbox, SandboxSettings
from skybook.app import app_outputs, deploy_app, describe_app, print_welcome
from skybook.errors import CliError

STATE_NOTE = "not persisted: a restart starts empty; ./scripts/up redeploys and reseeds flights"
STATE_LOST = "the stack, flights, bookings, failed events, sent mail and CloudWatch logs"


def _sandbox(args: argparse.Namespace) -> Sandbox:
    return Sandbox(SandboxSettings.from_env(port=getattr(args, "port", None)))


def cmd_up(args: argparse.Namespace) -> int:
    if args.docker:
        return _up_docker(args)
    sandbox = _sandbox(args)

    def on_ready(ready: Sandbox) -> None:
        print(f"sandbox ready at {ready.endpoint}", flush=True)
        print("  it starts empty: nothing is persisted across restarts", flush=True)
        if not args.no_deploy:
            outputs = deploy_app(ready.endpoint)
            print_welcome(ready.endpoint, outputs)
            if not args.no_console:
                _start_console(args, ready.endpoint, ready.dir, outputs)
            _start_dev_modes(args, ready, outputs)

    if args.detach:
        started = start_detached(sandbox.settings)
        try:
            on_ready(started)
        except BaseException:
            stop_detached(started)
            raise
        print("stop it with ./scripts/down")
        return 0
    sandbox.check_can_start()  # one line, before any output, when it cannot start
    print("starting the sandbox (Ctrl-C stops it) ...", file=sys.stderr, flush=True)
    return serve(sandbox, on_ready)


def _start_console(
    args: argparse.Namespace, endpoint: str, folder: Path, outputs: dict[str, Any]
) -> None:
    """The console beside the app: a thread of ``up``, or a detached process ``down`` stops
    (its record in ``folder``). A taken port costs only the console, never the sandbox.
    """
    from skybook.console import ConsoleError, console_port
    from skybook.console import process as console

    try:
        port = console_port(args.console_port)
        if args.detach:
            url = console.start_detached(endpoint, str(outputs["stack"]), port, folder)
        else:
            url = console.start_in_thread(endpoint, outputs, port, folder=folder).url
    except ConsoleError as error:
        print(f"console not started: {error}", file=sys.stderr, flush=True)
        return
    print(f"  Console: {url}  (flights, bookings, inbox, events, logs)\n", flush=True)


def _start_dev_modes(args: argparse.Namespace, ready: Sandbox, outputs: dict[str, Any]) -> None:
    """``--watch`` (hot reload of functions/) and ``--debug FUNCTION``."""
    from skybook import watch
    from skybook.commands import debug

    if args.watch:
        watched = watch.mapping(outputs)
        if args.detach:
            watch.start_detached(ready, str(outputs["stack"]))
        else:
            watch.Watcher(ready.dev_file, watched).start()
        print(
            "  Watch mode: on. Functions run from functions/; a saved change is what the next "
            "invocation runs (no deploy).\n",
            flush=True,
        )
    if args.debug:
        name = debug.deployed_name(outputs, args.debug)
        debug.enable(ready, name, args.debug_port)
        debug.print_attach_hint(name, args.debug_port)


def _up_docker(args: argparse.Namespace) -> int:
    """docker-compose.yml's LocalStack; its ready.d hook deploys the app (see skybook.compose)."""
    from skybook import compose

    if args.no_deploy:
        raise CliError("--no-deploy does not apply to --docker: the compose hook always deploys")
    folder = _sandbox(args).dir  # where the detached console's record lives

    def on_ready(endpoint: str) -> None:
        outputs = app_outputs(endpoint)
        print_welcome(endpoint, outputs)
        if not args.no_console:
            _start_console(args, endpoint, folder, outputs)

    return compose.up(detach=args.detach, port=args.port, on_ready=on_ready)


def cmd_down(args: argparse.Namespace) -> int:
    from skybook.console.process import stop_detached as stop_console

    sandbox = _sandbox(args)
    from skybook import compose

    if stop_console(sandbox.dir):
        print("console stopped")
    stopped = stop_detached(sandbox)
    if compose.down():
        print("LocalStack in Docker stopped (docker compose down)")
        stopped = True
    print("sandbox stopped" if stopped else "no sandbox was running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from sandbox.__main__ import describe
    from skybook.console.process import recorded_url
    from skybook.watch import describe as describe_dev

    sandbox = _sandbox(args)
    status: dict[str, Any] = describe(sandbox)
    status["state"] = f"{STATE_NOTE} (a restart loses {STATE_LOST})"
    if status["running"]:
        status["app"] = describe_app(str(status["endpoint"]))
        status["console"] = recorded_url(sandbox.dir)
        status["dev"] = describe_dev(sandbox.dev_file)  # watch and debug modes
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    if not status["running"]:
        print(f"no sandbox running (it would listen on {status['endpoint']}); start: ./scripts/up")
        return 0
    print(f"sandbox: running at {status['endpoint']} (pid {status['pid']})")
    print(f"  processes: {status['processes']}   log: {status['log']}")
    services = status.get("services") or {}
    print("  services: " + ", ".join(f"{k}={v}" for k, v in sorted(services.items())))
    print(f"  state: {STATE_NOTE}")
    print(f"         (a restart loses {STATE_LOST})")
    for line in status["app"].get("lines", []):
        print(f"  {line}")
    print(f"  console: {status['console'] or 'not running (skybook console serves it)'}")
    for line in status.get("dev", []):
        print(f"  {line}")
    return 0


def register(sub: Any) -> None:
    up = sub.add_parser("up", help="start the sandbox, deploy the app, seed flights")
    up.add_argument(
        "--detach", action="store_true", help="return once ready; ./scripts/down stops it"
    )
    up.add_argument(
        "--docker",
        action="store_true",
        help="LocalStack in Docker (docker-compose.yml) instead of the embedded sandbox",
    )
    up.add_argument("--port", type=int, help="gateway port (default 4566 or SKYBOOK_PORT)")
    up.add_argument("--no-deploy", action="store_true", help="only the sandbox, no app")
    up.add_argument("--no-console", action="store_true", help="do not serve the console page")
    up.add_argument(
        "--console-port",
        type=int,
        help="console port on 127.0.0.1 (default 4580 or SKYBOOK_CONSOLE_PORT)",
    )
    up.add_argument(
        "--watch",
        action="store_true",
        help="hot reload: functions run from functions/, a saved change needs no deploy",
    )
    up.add_argument(
        "--debug",
        metavar="FUNCTION",
        help="start FUNCTION's next environment under debugpy (see skybook debug)",
    )
    up.add_argument("--debug-port", type=int, default=5678, help="debugpy's port (default 5678)")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop a detached sandbox and everything it started")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="what runs, where, and the app's outputs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
