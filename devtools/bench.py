"""Sandbox benchmark, printed as JSON: start-to-ready, first DynamoDB call, cold/warm invoke,
memory, the app (bootstrap apply, first and no-op; booking-to-email latency), and the inner
loop: a saved change to the next invocation running it (watch mode), and a deploy to the
first async event its new code handles.

Runs its own sandbox on a free port. Timing goals live here, never in pass/fail tests.
Usage: ``./scripts/bench [--warm N] [--cold N] [--bookings N] [--reloads N] [--deploys N]``;
the load run is ``scripts/load``. Percentiles are nearest-rank (:mod:`skybook.stats`), as in
the load report.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bootstrap import Target
from sandbox import devmode
from sandbox.memory import rss_mib
from sandbox.paths import folder_shared_with_functions
from sandbox.runner import Sandbox, temporary_sandbox
from skybook import sesmail
from skybook.app import deploy_app
from skybook.contract import booking_request, flight_item
from skybook.httpclient import post_json
from skybook.polling import wait_for
from skybook.stats import summary
from skybook.watch import Watcher

HANDLER = "def handler(event, context):\n    return {'ok': True, 'echo': event}\n"


def client(endpoint: str, service: str) -> Any:
    return Target.local(endpoint).client(service)


def function_zip(source: str = HANDLER) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def create_function(lam: Any, name: str, role: str, source: str = HANDLER) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": function_zip(source)},
        Timeout=10,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def timings(values: list[float], goal_ms: float | None = None) -> dict[str, Any]:
    """n, p50, p95 and max of the inner-loop measurements, with their goal if they have one."""
    result: dict[str, Any] = {"n": len(values), **summary(values, (50, 95))}
    if goal_ms is not None:
        result["goal"] = f"< {goal_ms:.0f}"
    return result


VERSIONED = "VERSION = {n}\n\ndef handler(event, context):\n    return VERSION\n"


def bench_hot_reload(sandbox: Sandbox, lam: Any, role: str, reloads: int) -> dict[str, Any]:
    """Watch mode: from writing a file to the first invocation that returns its new code
    (invoking in a loop, as a user who saves and tries does)."""
    create_function(lam, "bench-reload", role)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "fn"
        source.mkdir()
        (source / "app.py").write_text(VERSIONED.format(n=0))
        watched = {"bench-reload": {"sources": [["", str(source)]], "skip": []}}
        watcher = Watcher(sandbox.dev_file, watched, Path(tmp), on_reload=lambda *_: None)
        watcher.start()
        try:
            timed_invoke(lam, "bench-reload")
            latencies = []
            for n in range(1, reloads + 1):
                started = time.perf_counter()
                (source / "app.py").write_text(VERSIONED.format(n=n))
                while _invoke_value(lam, "bench-reload") != n:
                    if time.perf_counter() - started > 30:
                        raise RuntimeError("a saved change did not run within 30 s")
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            watcher.stop()
    devmode.update(sandbox.dev_file, lambda state: state.generations.clear())
    return timings(latencies, goal_ms=1000)


def _invoke_value(lam: Any, name: str) -> Any:
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    return json.loads(response["Payload"].read())


MARKS = (
    "import os\nVERSION = {n}\n\ndef handler(event, context):\n"
    "    with open(event['mark'], 'w') as f:\n        f.write(str(VERSION))\n"
)


def bench_deploy_to_async(sandbox: Sandbox, lam: Any, role: str, deploys: int) -> dict[str, Any]:
    """A code deploy as bootstrap makes it (update, wait until Successful), then an async
    event right away: until the new code has handled it."""
    create_function(lam, "bench-deploy", role, MARKS.format(n=0))
    with folder_shared_with_functions(sandbox.dir) as shared:
        return _deploys_to_async(lam, shared, deploys)


def _deploys_to_async(lam: Any, shared: Path, deploys: int) -> dict[str, Any]:
    totals, deploys_ms = [], []
    for n in range(1, deploys + 1):
        mark = shared / f"bench-mark-{n}"  # not /tmp: the function's /tmp is its own
        started = time.perf_counter()
        code = function_zip(MARKS.format(n=n))
        lam.update_function_code(FunctionName="bench-deploy", ZipFile=code)
        while (
            lam.get_function_configuration(FunctionName="bench-deploy").get("LastUpdateStatus")
            != "Successful"
        ):
            time.sleep(0.02)
        deploys_ms.append((time.perf_counter() - started) * 1000)
        lam.invoke(
            FunctionName="bench-deploy",
            InvocationType="Event",
            Payload=json.dumps({"mark": str(mark)}).encode(),
        )
        while not (mark.exists() and mark.read_text() == str(n)):
            if time.perf_counter() - started > 120:
                raise RuntimeError("the async event after a deploy was not handled in 120 s")
            time.sleep(0.01)
        totals.append((time.perf_counter() - started) * 1000)
        mark.unlink()
    return {"deploy_to_event_handled": timings(totals), "deploy_only": timings(deploys_ms)}


def timed_invoke(lam: Any, name: str) -> float:
    started = time.perf_counter()
    response = lam.invoke(FunctionName=name, Payload=b'{"n": 1}')
    response["Payload"].read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.get("FunctionError"):
        raise RuntimeError(f"benchmark function failed: {response}")
    return elapsed


def bench_app(endpoint: str, bookings: int) -> dict[str, Any]:
    """Deploy twice (the second is a no-op), then book one at a time and time each email."""
    with tempfile.TemporaryDirectory() as tmp:
        outputs_file = Path(tmp) / "outputs.json"
        started = time.perf_counter()
        outputs = deploy_app(endpoint, outputs_file=outputs_file, seed=False, quiet=True)
        first = time.perf_counter() - started
        started = time.perf_counter()
        deploy_app(endpoint, outputs_file=outputs_file, seed=False, quiet=True)
        noop = time.perf_counter() - started
    ddb, latencies = client(endpoint, "dynamodb"), []
    for i in range(bookings):
        flight_date = (date(2040, 1, 1) + timedelta(days=i)).isoformat()
        ddb.put_item(TableName=outputs["tableName"], Item=flight_item("LHR", flight_date, 9))
        email = f"bench-{i}@example.com"
        started = time.perf_counter()
        answer = post_json(
            outputs["bookFlightUrl"], booking_request("LHR", flight_date, 1, email), timeout=30
        )
        if answer.status != 200:
            raise RuntimeError(f"booking {i} was refused: {answer.status} {answer.text}")
        wait_for(
            functools.partial(sesmail.addressed_to, endpoint, email),
            timeout=30,
            interval=0.01,
            error=RuntimeError(f"no email for booking {i} after 30 s"),
        )
        latencies.append((time.perf_counter() - started) * 1000)
    return {
        "apply_first_s": round(first, 2),
        "apply_noop_s": round(noop, 2),
        "booking_to_email_ms": {
            "n": len(latencies),
            "first": round(latencies[0], 1) if latencies else None,
            **summary(latencies, (50, 95)),
        },
    }


def run(
    warm_calls: int, cold_calls: int, bookings: int, reloads: int = 10, deploys: int = 5
) -> dict[str, Any]:
    # No prewarm: measure what the first DynamoDB call costs with a cold JVM.
    started = time.perf_counter()
    with temporary_sandbox("bench", prewarm_dynamodb=False) as sandbox:
        result: dict[str, Any] = {"start_to_ready_s": round(time.perf_counter() - started, 2)}
        idle_memory = rss_mib(sandbox.pids())
        ddb = client(sandbox.endpoint, "dynamodb")
        started = time.perf_counter()
        ddb.list_tables()
        result["first_dynamodb_call_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        ddb.list_tables()
        result["second_dynamodb_call_ms"] = round((time.perf_counter() - started) * 1000, 1)

        lam = client(sandbox.endpoint, "lambda")
        role = "arn:aws:iam::000000000000:role/bench"
        cold = []
        for i in range(cold_calls):
            name = f"bench-cold-{i}"
            create_function(lam, name, role)
            cold.append(timed_invoke(lam, name))
        create_function(lam, "bench-warm", role)
        timed_invoke(lam, "bench-warm")
        warm = [timed_invoke(lam, "bench-warm") for _ in range(warm_calls)]
        result["cold_invoke_ms"] = {"n": len(cold), **summary(cold, (50, 95))}
        result["warm_invoke_ms"] = {
            "n": len(warm),
            **summary(warm, (50, 95)),
            "mean": round(statistics.fmean(warm), 1),
        }
        result["app"] = bench_app(sandbox.endpoint, bookings)
        result["save_to_new_code_ms"] = bench_hot_reload(sandbox, lam, role, reloads)
        result["deploy_to_first_async_event_ms"] = bench_deploy_to_async(
            sandbox, lam, role, deploys
        )
        pids = sandbox.pids()
        result["memory_mb"] = {
            "idle_after_start": idle_memory,
            "after_benchmark": rss_mib(pids),
            "processes": len(pids),
        }
        result["targets"] = {
            "start_to_ready_s": 5,
            "cold_invoke_ms": 300,
            "warm_invoke_p50_ms": 40,
            "save_to_new_code_ms": 1000,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--warm", type=int, default=50, help="warm invokes (default 50)")
    parser.add_argument("--cold", type=int, default=20, help="cold invokes (default 20)")
    parser.add_argument(
        "--bookings", type=int, default=20, help="sequential bookings timed to email (default 20)"
    )
    parser.add_argument(
        "--reloads", type=int, default=10, help="saved changes timed to new code (default 10)"
    )
    parser.add_argument(
        "--deploys", type=int, default=5, help="deploys timed to an async event (default 5)"
    )
    args = parser.parse_args(argv)
    result = run(args.warm, args.cold, args.bookings, args.reloads, args.deploys)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
