"""``./scripts/load``: a run against a sandbox of its own, or a running one; JSON on stdout."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import skybook.load
from skybook.appdata import AppView
from skybook.commands import context
from skybook.errors import USER_ERRORS
from skybook.load import plan
from skybook.load.run import run_load
from skybook.load.target import LoadError, aim


@contextlib.contextmanager
def own_sandbox(progress: Any) -> Iterator[tuple[AppView, Any]]:
    """A fresh sandbox on a free port with the app deployed; stopped after, and its folder
    removed unless the block failed or set ``keep_folder`` (its logs explain a failed run)."""
    from sandbox.runner import temporary_sandbox
    from skybook.app import AppError, deploy_app

    with temporary_sandbox("load") as box:
        progress(f"started a sandbox at {box.endpoint}")
        try:
            outputs = deploy_app(
                box.endpoint, outputs_file=box.dir / "outputs.json", seed=False, quiet=True
            )
        except AppError as error:
            raise LoadError(f"deploying the app failed: {error}") from error
        yield aim(box.endpoint, outputs), box


def running_app(endpoint: str | None, outputs_file: str | None) -> AppView:
    """The app on a running sandbox: the outputs file's (``skybook``'s by default), on the
    endpoint given, else the one the file names."""
    path = context.outputs_path(Path(outputs_file) if outputs_file else None)
    outputs = context.read_stack_outputs(path)
    endpoint = endpoint or outputs.get("endpoint") or context.sandbox_endpoint()
    found = context.stack_on(str(endpoint).rstrip("/"), path, outputs)
    return aim(found.endpoint, found.outputs)


def main(argv: list[str] | None = None) -> int:
    description = (skybook.load.__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="scripts/load", description=description)
    parser.add_argument("-n", "--requests", type=int, default=plan.DEFAULT_REQUESTS)
    parser.add_argument("-c", "--concurrency", type=int, default=plan.DEFAULT_CONCURRENCY)
    parser.add_argument("--flights", type=int, default=plan.DEFAULT_FLIGHTS)
    parser.add_argument("--seats", type=int, help="seats per flight (default: from demand)")
    parser.add_argument("--timeout", type=float, default=plan.DEFAULT_TIMEOUT, help="whole run, s")
    parser.add_argument("--seed", type=int, help="random seed (plan of flights and requests)")
    parser.add_argument("--endpoint", help="a running sandbox (default: start one)")
    parser.add_argument("--outputs-file", help="that sandbox's outputs (.skybook/outputs.json)")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"load: {message}", file=sys.stderr, flush=True)

    options: dict[str, Any] = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "flights": args.flights,
        "seats": args.seats,
        "timeout": args.timeout,
        "seed": args.seed,
        "progress": progress,
    }
    try:
        if args.endpoint or args.outputs_file:
            report = run_load(running_app(args.endpoint, args.outputs_file), **options)
        else:
            with own_sandbox(progress) as (app, box):
                pid = box.process.pid if box.process else None
                report = run_load(app, **options, watch={"localstack": pid} if pid else None)
                box.keep_folder = not report["ok"]
    except USER_ERRORS as error:
        print(f"load: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
