"""Where a booking's time goes, printed as JSON: one load run against a fresh sandbox while
py-spy samples LocalStack, with CPU per booking by process kind, the requests LocalStack
served per booking (by operation), and the memory of every sandbox process after the run.

The flame graph (svg) and its speedscope twin land in ``--out``; docs/performance.md holds
the ones behind the kit's numbers. Usage: ``./scripts/profile [--requests N] [--concurrency C]
[--out DIR] [--env NAME=VALUE ...]``; ``--env SKYBOOK_SPEEDUPS=0`` installs none of
``sandbox/speedups/``, and docs/performance.md lists the other knobs.
Counting requests needs LocalStack's trace log, which costs CPU itself: with ``--count`` the
timings are not comparable to a run without it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from devtools import flamegraph
from sandbox import memory
from sandbox.runner import Sandbox, temporary_sandbox
from skybook.app import deploy_app
from skybook.appdata import AppView
from skybook.errors import USER_ERRORS, UserError
from skybook.load.run import run_load
from skybook.load.target import aim
from skybook.load.warmup import DEFAULT_WARMUP, warm_up

# LocalStack's request log (LS_LOG=trace): "localstack.request.internal.aws : AWS logs.PutLogEvents"
_REQUEST_LINE = re.compile(
    r"\.request\.(?P<internal>internal\.)?(?:aws|http)\s*: "
    r"(?:AWS (?P<op>[\w.-]+)|(?P<method>[A-Z]+) (?P<path>\S+))"
)


class ProcessMeter:
    """CPU seconds of a sandbox's processes by kind, and of this process (the load driver:
    it shares the machine). Function processes come and go during a run: they are sampled
    until the end, their last sample counts."""

    def __init__(self, box: Sandbox, localstack_pid: int) -> None:
        self.box = box
        self.localstack_pid = localstack_pid
        self.first: dict[int, tuple[str, float]] = {}
        self.last: dict[int, float] = {}

    def sample(self) -> None:
        for pid in [*self.box.pids(), os.getpid()]:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                times = proc.cpu_times()
                cpu = times.user + times.system
                if pid not in self.first:  # its kind once: cmdline and environ are not cheap
                    kind = (
                        "load-driver"
                        if pid == os.getpid()
                        else memory.process_kind(proc, self.localstack_pid)
                    )
                    self.first[pid] = (kind, cpu)
                self.last[pid] = cpu

    def cpu_by_kind(self) -> dict[str, float]:
        spent: dict[str, float] = {}  # CPU seconds
        for pid, (kind, cpu) in self.first.items():
            kind = kind.split(":")[0]
            spent[kind] = spent.get(kind, 0.0) + self.last[pid] - cpu
        return spent


@contextlib.contextmanager
def sampling(meter: ProcessMeter, every_s: float = 0.25) -> Iterator[None]:
    """Samples ``meter`` in a thread while the block runs (function processes are short-lived)."""
    import threading

    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            meter.sample()

    meter.sample()
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        meter.sample()


def py_spy_path() -> str:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise UserError("py-spy is missing: run ./scripts/setup (it installs the dev tools)")
    return spy


@contextlib.contextmanager
def py_spy(pid: int, out: Path, rate: int) -> Iterator[None]:
    """py-spy records ``pid`` while the block runs, into ``out``.speedscope.json (open it on
    speedscope.app, or summarise it with ``--top``).

    Only stacks holding the GIL (``--gil``): LocalStack is one process, so the GIL is its one
    core, and a thread waiting for it costs nothing. py-spy pauses LocalStack for each sample
    (``--nonblocking`` dropped most: stacks read while they change are discarded)."""
    spy = py_spy_path()
    target = out.with_suffix(".speedscope.json")
    command = [spy, "record", "--pid", str(pid), "--rate", str(rate), "--gil"]
    command += ["--format", "speedscope", "--output", str(target)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            said, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            said, _ = proc.communicate()
        if not target.exists():
            print(
                f"profile: py-spy wrote nothing ({proc.returncode}): {said[-500:]}", file=sys.stderr
            )


def count_requests(log_text: str) -> Counter[str]:
    """Requests LocalStack served, by kind and operation, from its trace log."""
    counts: Counter[str] = Counter()
    for match in _REQUEST_LINE.finditer(log_text):
        kind = "internal" if match["internal"] else "external"
        path = re.sub(r"/execute-api/[^/ ]+", "/execute-api/<api>", match["path"] or "")
        what = match["op"] or f"{match['method']} {path}"
        counts[f"{kind} {what}"] += 1
    return counts


def per_booking(counts: Counter[str], bookings: int) -> dict[str, float]:
    return {k: round(v / bookings, 2) for k, v in counts.most_common() if v / bookings >= 0.01}


def flame_graph(recording: Path, svg: Path, result: dict[str, Any]) -> dict[str, Any]:
    """The recording as an svg flame graph, and the frames that held the GIL most."""
    root, own, inclusive = flamegraph.load(recording)
    load = result["load"]
    title = (
        f"LocalStack, stacks holding the GIL: {result['requests']} bookings at concurrency "
        f"{result['concurrency']}, {load['throughput']['completedBookingsPerS']} bookings/s, "
        f"env {result['env'] or 'default'}"
    )
    svg.write_text(flamegraph.render_svg(root, title))
    return {
        "speedscope": str(recording),
        "svg": str(svg),
        "sampledSeconds": round(root.weight, 1),
        "topSelf": flamegraph.top(own, root.weight),
        "topInclusive": flamegraph.top(inclusive, root.weight, 40),
    }


def surplus_idle_s(env: dict[str, str]) -> float | None:
    """The reaping delay the sandbox was given, if --env set one."""
    raw = env.get("SKYBOOK_LAMBDA_SURPLUS_IDLE_S")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def summary(report: dict[str, Any]) -> dict[str, Any]:
    keys = ["ok", "throughput", "apiLatencyMs", "bookingToEmailMs", "answerToEmailMs"]
    keys += ["errors", "cpu"]
    return {k: report[k] for k in keys if k in report}


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(pair.split("=", 1) for pair in args.env)
    if args.count:
        env.setdefault("LS_LOG", "trace-internal")
    with temporary_sandbox("profile", extra_env=env) as box:
        assert box.process is not None
        pid = box.process.pid
        app: AppView = aim(box.endpoint, deploy_app(box.endpoint, seed=False, quiet=True))
        warm_up(app, DEFAULT_WARMUP, args.concurrency, time.monotonic() + 300, random.Random())
        meter = ProcessMeter(box, pid)
        log_span = [box.log_file.stat().st_size]
        # Measured from the first request until every booking settled: the audit's reads
        # after that are the load tool's work, not the app's.
        with contextlib.ExitStack() as measuring:
            measuring.enter_context(sampling(meter))
            if args.rate:
                measuring.enter_context(py_spy(pid, out / args.name, args.rate))

            def settled() -> None:
                log_span.append(box.log_file.stat().st_size)
                measuring.close()

            report = run_load(
                app,
                warmup=0,  # done above, before the sampling
                requests=args.requests,
                concurrency=args.concurrency,
                watch={"localstack": pid},
                on_settled=settled,
            )
        bookings = max(report["bookings"]["notified"], 1)
        with box.log_file.open("rb") as log:
            log.seek(log_span[0])
            size = log_span[-1] - log_span[0] if len(log_span) > 1 else -1
            run_log = log.read(size).decode(errors="replace")
        counts = count_requests(run_log)
        if args.count:
            (out / f"{args.name}.log").write_text(run_log)
        result = {
            "env": env,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "load": summary(report),
            "cpuMsPerBooking": {
                k: round(v * 1000 / bookings, 1) for k, v in sorted(meter.cpu_by_kind().items())
            },
            "requestsPerBooking": per_booking(counts, bookings) if args.count else None,
            "requestsPerBookingTotal": round(sum(counts.values()) / bookings, 1)
            if args.count
            else None,
            "memory": memory.after_burst(box.pids, pid, idle_s=surplus_idle_s(env)),
        }
        recording = out / f"{args.name}.speedscope.json"
        if args.rate and recording.exists():
            result["gil"] = flame_graph(recording, out / f"{args.name}.svg", result)
        (out / f"{args.name}.json").write_text(json.dumps(result, indent=1))
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=500)
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    parser.add_argument("--out", default=".skybook/profiles", help="folder for svg and json")
    parser.add_argument("--name", default="profile", help="file names in --out")
    parser.add_argument(
        "--rate", type=int, default=100, help="py-spy samples per second (0: no py-spy)"
    )
    parser.add_argument(
        "--count",
        action="store_true",
        help="count requests per booking (LocalStack's trace log: slower)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for LocalStack (repeatable)",
    )
    args = parser.parse_args(argv)
    bad = [pair for pair in args.env if "=" not in pair]
    if bad:
        parser.error(f"--env wants NAME=VALUE, got {bad[0]!r}")
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1")
    started = time.monotonic()
    try:
        if args.rate:
            py_spy_path()  # before a sandbox is started for nothing
        result = run(args)
    except USER_ERRORS as error:
        print(f"profile: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("profile: interrupted (the sandbox was stopped)", file=sys.stderr)
        return 130
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=1))
    return 0 if result["load"].get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
