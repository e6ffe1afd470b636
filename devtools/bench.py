"""Sandbox benchmark, printed as JSON: start-to-ready, first DynamoDB call, cold/warm invoke,
memory, and the app: bootstrap apply (first and no-op) and booking-to-email latency.

Runs its own sandbox on a free port. Timing goals live here, never in pass/fail tests.
Usage: ``./scripts/bench [--warm N] [--cold N] [--bookings N]``; the load run is ``scripts/load``.
Percentiles are nearest-rank (:mod:`skybook.stats`), as in the load report.
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

import psutil

from bootstrap import Target
from sandbox.runner import temporary_sandbox
from skybook import sesmail
from skybook.app import deploy_app
from skybook.contract import booking_request, flight_item
from skybook.httpclient import post_json
from skybook.polling import wait_for
from skybook.stats import summary

HANDLER = "def handler(event, context):\n    return {'ok': True, 'echo': event}\n"


def client(endpoint: str, service: str) -> Any:
    return Target.local(endpoint).client(service)


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


def create_function(lam: Any, name: str, role: str) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": function_zip()},
        Timeout=10,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def timed_invoke(lam: Any, name: str) -> float:
    started = time.perf_counter()
    response = lam.invoke(FunctionName=name, Payload=b'{"n": 1}')
    response["Payload"].read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.get("FunctionError"):
        raise RuntimeError(f"benchmark function failed: {response}")
    return elapsed


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes together (those already gone count nothing)."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            continue
    return round(total / 2**20, 1)


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


def run(warm_calls: int, cold_calls: int, bookings: int) -> dict[str, Any]:
    # No prewarm: measure what the first DynamoDB call costs with a cold JVM.
    started = time.perf_counter()
    with temporary_sandbox("bench", prewarm_dynamodb=False) as sandbox:
        result: dict[str, Any] = {"start_to_ready_s": round(time.perf_counter() - started, 2)}
        idle_memory = rss_mb(sandbox.pids())
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
        pids = sandbox.pids()
        result["memory_mb"] = {
            "idle_after_start": idle_memory,
            "after_benchmark": rss_mb(pids),
            "processes": len(pids),
        }
        result["targets"] = {
            "start_to_ready_s": 5,
            "cold_invoke_ms": 300,
            "warm_invoke_p50_ms": 40,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--warm", type=int, default=50, help="warm invokes (default 50)")
    parser.add_argument("--cold", type=int, default=20, help="cold invokes (default 20)")
    parser.add_argument(
        "--bookings", type=int, default=20, help="sequential bookings timed to email (default 20)"
    )
    args = parser.parse_args(argv)
    print(json.dumps(run(args.warm, args.cold, args.bookings), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
