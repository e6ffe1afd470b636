"""``./scripts/load``: a run against a sandbox of its own, or a running one; JSON on stdout."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import skybook.load
from bootstrap import Target, stack_outputs
from sandbox import memory
from skybook.appdata import AppView
from skybook.commands import context
from skybook.errors import USER_ERRORS
from skybook.load import plan
from skybook.load.run import run_load
from skybook.load.target import LoadError, aim, require_loopback
from skybook.load.warmup import DEFAULT_WARMUP


@contextlib.contextmanager
def own_sandbox(progress: Any, *, event_log: bool = True) -> Iterator[tuple[AppView, Any]]:
    """A fresh sandbox on a free port with the app deployed; stopped after, and its folder
    removed unless the block failed or set ``keep_folder`` (its logs explain a failed run).

    ``event_log=False`` deploys without the sandbox's all-events log rule (what ``skybook
    events`` reads): cheaper, less to see; only ever asked for explicitly."""
    from sandbox.runner import temporary_sandbox
    from skybook.app import AppError, deploy_app

    with temporary_sandbox("load") as box:
        progress(f"started a sandbox at {box.endpoint}")
        try:
            outputs = deploy_app(
                box.endpoint,
                outputs_file=box.dir / "outputs.json",
                seed=False,
                quiet=True,
                event_log=event_log,
            )
        except AppError as error:
            raise LoadError(f"deploying the app failed: {error}") from error
        yield aim(box.endpoint, outputs), box


def running_app(endpoint: str, stack: str) -> AppView:
    """The app on a running sandbox, as its stack describes itself."""
    endpoint = context.sandbox_endpoint(endpoint)
    require_loopback(endpoint)  # before a single call goes there
    return aim(endpoint, stack_outputs(Target.local(endpoint), stack))


def main(argv: list[str] | None = None) -> int:
    description = (skybook.load.__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="scripts/load", description=description)
    parser.add_argument("-n", "--requests", type=int, default=plan.DEFAULT_REQUESTS)
    parser.add_argument("-c", "--concurrency", type=int, default=plan.DEFAULT_CONCURRENCY)
    parser.add_argument("--flights", type=int, default=plan.DEFAULT_FLIGHTS)
    parser.add_argument("--seats", type=int, help="seats per flight (default: from demand)")
    parser.add_argument("--timeout", type=float, default=plan.DEFAULT_TIMEOUT, help="whole run, s")
    parser.add_argument("--seed", type=int, help="random seed (plan of flights and requests)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP,
        help=f"bookings sent first and measured apart (default {DEFAULT_WARMUP}; 0: from cold)",
    )
    parser.add_argument("--endpoint", help="a running sandbox (default: start one)")
    parser.add_argument("--stack-name", default="skybook", help="the app's stack on that sandbox")
    parser.add_argument(
        "--without-event-log",
        action="store_true",
        help="deploy the load's own sandbox without the all-events log rule (`skybook events`"
        " shows nothing then): less work per booking, less fidelity; see docs/performance.md",
    )
    args = parser.parse_args(argv)
    if args.without_event_log and args.endpoint:
        parser.error("--without-event-log only applies to the load's own sandbox (no --endpoint)")

    def progress(message: str) -> None:
        print(f"load: {message}", file=sys.stderr, flush=True)

    options: dict[str, Any] = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "flights": args.flights,
        "seats": args.seats,
        "timeout": args.timeout,
        "seed": args.seed,
        "warmup": args.warmup,
        "progress": progress,
    }
    try:
        if args.endpoint:
            report = run_load(running_app(args.endpoint, args.stack_name), **options)
            report["parameters"]["eventLog"] = None  # the running sandbox's stack decides
        else:
            with own_sandbox(progress, event_log=not args.without_event_log) as (app, box):
                pid = box.process.pid if box.process else None
                report = run_load(app, **options, watch={"localstack": pid} if pid else None)
                report["parameters"]["eventLog"] = not args.without_event_log
                progress("measuring the sandbox's memory (until surplus environments stop)")
                report["memory"] = memory.after_burst(box.pids, pid)
                box.keep_folder = not report["ok"]
    except USER_ERRORS as error:
        print(f"load: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
