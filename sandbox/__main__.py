"""``python -m sandbox serve|start|stop|status``: the sandbox on its own, without the app."""

from __future__ import annotations

import argparse
import json
import sys

from sandbox.control import serve, start_detached, stop_detached
from sandbox.runner import Sandbox, SandboxError, SandboxSettings


def describe(sandbox: Sandbox) -> dict[str, object]:
    """What runs, where, and which of its services answer."""
    record = sandbox.record()
    status: dict[str, object] = {
        "running": record is not None,
        "endpoint": sandbox.endpoint if record is None else record["endpoint"],
        "folder": str(sandbox.dir),
        "log": str(sandbox.log_file),
    }
    if record is not None:
        status["pid"] = record["pid"]
        status["processes"] = len(sandbox.pids())
        status["ready"] = bool(record.get("ready"))
        try:
            status["services"] = {
                name: state
                for name, state in sandbox.health()["services"].items()
                if state != "disabled"
            }
        except OSError as error:
            status["health"] = f"not answering: {error}"
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("command", choices=["serve", "start", "stop", "status"])
    parser.add_argument(
        "--name", default=None, help="sandbox folder under .skybook/sandboxes (default: default)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="gateway port (default 4566 or SKYBOOK_PORT)"
    )
    args = parser.parse_args(argv)
    sandbox = Sandbox(SandboxSettings.from_env(name=args.name, port=args.port))
    try:
        if args.command == "serve":
            sandbox.check_can_start()
            return serve(sandbox, lambda s: print(f"sandbox ready at {s.endpoint}", flush=True))
        if args.command == "start":
            start_detached(sandbox.settings)
            print(f"sandbox ready at {sandbox.endpoint}")
        elif args.command == "stop":
            print("sandbox stopped" if stop_detached(sandbox) else "no sandbox was running")
        else:
            print(json.dumps(describe(sandbox), indent=2))
    except SandboxError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
