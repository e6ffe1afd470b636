"""Load run of the booking flow: N bookings at concurrency C, then the books are audited.

Seeds its own flights (unique dates, conditional puts, so runs never share a flight), sends
bookings with a unique email each through the HTTP API, waits (polling, with one global
deadline) until every accepted booking is stored and notified, and then checks what must
hold under any load: no overbooking, one email per outcome, no 5xx, no lost event. Prints a
JSON report. Timing numbers are reported, never asserted: they depend on the machine
(the report says how busy it was). Throughput counts requests answered per second of
sending, and completed bookings (stored and emailed, confirmed or rejected) per second from
the first request to the last email; booking-to-email latency runs from a request leaving
to the booking's ``notificationSentAt``.

Usage: ``./scripts/load`` (own sandbox on a free port) or ``./scripts/load --endpoint URL``
/ ``--outputs-file PATH`` (a running ``./scripts/up`` sandbox). Only loopback is a target.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import math
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

DEFAULT_REQUESTS = 500
DEFAULT_CONCURRENCY = 20
DEFAULT_FLIGHTS = 25
DEFAULT_TIMEOUT = 900.0  # seconds, for the whole run (send + settle)
# Demand / capacity: above 1, so the last seats of every flight are raced for and some
# accepted requests must be rejected by registerBooking's transaction (not only by the
# API's advisory check).
DEFAULT_OVERSUBSCRIPTION = 1.25
SEAT_CHOICES = (1, 2, 3)
DESTINATIONS = ("CDG", "LHR", "FRA", "IST", "AMS", "FCO", "LAX")
RECEIPT_TEMPLATE = "bookingReceiptTemplate"
REJECTION_TEMPLATE = "bookingRejectedTemplate"
REQUEST_TIMEOUT = 60.0
REGION = "us-east-1"


class LoadError(Exception):
    """A problem the user can fix (bad target, no sandbox); printed as one line."""


# --- what is targeted ----------------------------------------------------------------------


def require_loopback(url: str) -> None:
    """Refuse any target that is not on this machine's loopback interface."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise LoadError(f"refusing to send load to {url}: only loopback (127.0.0.0/8, ::1) targets")


@dataclass(frozen=True)
class Target:
    """The deployed app: the sandbox endpoint and the stack's outputs."""

    endpoint: str
    outputs: dict[str, Any]

    def __post_init__(self) -> None:
        require_loopback(self.endpoint)
        require_loopback(self.book_url)

    @property
    def book_url(self) -> str:
        return str(self.outputs["bookFlightUrl"])

    @property
    def table(self) -> str:
        return str(self.outputs["tableName"])

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


# --- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flight:
    destination: str
    date: str
    seats: int

    @property
    def key(self) -> dict[str, dict[str, str]]:
        return {"PK": {"S": f"DESTINATION#{self.destination}"}, "SK": {"S": self.date}}


@dataclass(frozen=True)
class BookingRequest:
    index: int
    flight: Flight
    seats: int
    email: str

    @property
    def body(self) -> dict[str, Any]:
        return {
            "destination": self.flight.destination,
            "flightDate": self.flight.date,
            "numberOfSeats": self.seats,
            "bookerEmail": self.email,
        }


@dataclass
class Outcome:
    """What one request got: an HTTP status and JSON body, or a transport error."""

    request: BookingRequest
    sent_at: float  # wall clock, comparable with the functions' timestamps
    latency_ms: float | None = None
    status: int | None = None
    body: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # "connection: <exception>", "timeout", "not sent (deadline)"

    @property
    def booking_id(self) -> str | None:
        value = self.body.get("bookingId") if self.status == 200 else None
        return value if isinstance(value, str) else None


def seats_per_flight(requests: int, flights: int, oversubscription: float) -> int:
    mean_seats = sum(SEAT_CHOICES) / len(SEAT_CHOICES)
    return max(1, math.ceil(requests * mean_seats / flights / oversubscription))


def seed_flights(target: Target, count: int, seats: int, rng: random.Random) -> list[Flight]:
    """Create ``count`` new flights on dates far from other users' (conditional puts)."""
    dynamodb = target.client("dynamodb")
    flights: list[Flight] = []
    while len(flights) < count:
        day = date(2100, 1, 1) + timedelta(days=rng.randrange(250_000))
        flight = Flight(DESTINATIONS[len(flights) % len(DESTINATIONS)], day.isoformat(), seats)
        try:
            dynamodb.put_item(
                TableName=target.table,
                Item={**flight.key, "availableSeats": {"N": str(seats)}},
                ConditionExpression="attribute_not_exists(PK)",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            continue  # an earlier run's flight: pick another date
        flights.append(flight)
    return flights


def plan_requests(
    flights: list[Flight], count: int, run_id: str, rng: random.Random
) -> list[BookingRequest]:
    return [
        BookingRequest(i, rng.choice(flights), rng.choice(SEAT_CHOICES), email_for(run_id, i))
        for i in range(count)
    ]


def email_for(run_id: str, index: int) -> str:
    return f"load-{run_id}-{index}@example.com"


# --- sending -------------------------------------------------------------------------------


def post_booking(url: str, request: BookingRequest, timeout: float = REQUEST_TIMEOUT) -> Outcome:
    data = json.dumps(request.body).encode()
    http = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    outcome = Outcome(request, sent_at=time.time())
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:
            outcome.status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        outcome.status, raw = error.code, error.read()
    except TimeoutError:
        outcome.error = "timeout"
        return outcome
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        outcome.error = f"connection: {type(reason).__name__}"
        return outcome
    finally:
        outcome.latency_ms = (time.perf_counter() - started) * 1000
    try:
        parsed = json.loads(raw) if raw else {}
        outcome.body = parsed if isinstance(parsed, dict) else {"_json": parsed}
    except ValueError:
        outcome.body = {"_raw": raw[:200].decode(errors="replace")}
    return outcome


def send_all(
    target: Target, requests: list[BookingRequest], concurrency: int, deadline: float
) -> list[Outcome]:
    """Send every request with ``concurrency`` in flight; those past the deadline are not sent."""
    outcomes: list[Outcome | None] = [None] * len(requests)
    cursor = iter(range(len(requests)))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            request = requests[index]
            if time.monotonic() > deadline:
                outcomes[index] = Outcome(request, time.time(), error="not sent (deadline)")
                continue
            remaining = max(1.0, min(REQUEST_TIMEOUT, deadline - time.monotonic()))
            outcomes[index] = post_booking(target.book_url, request, remaining)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [o for o in outcomes if o is not None]


# --- reading the books ---------------------------------------------------------------------


def _plain(item: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {k: next(iter(v.values())) for k, v in item.items()}


def fetch_bookings(target: Target, booking_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored booking items for these ids (strongly consistent batch reads)."""
    dynamodb = target.client("dynamodb")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(booking_ids), 100):
        keys: list[dict[str, Any]] = [
            {"PK": {"S": f"BOOKING#{b}"}, "SK": {"S": "BOOKING"}}
            for b in booking_ids[start : start + 100]
        ]
        request: dict[str, Any] = {target.table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(target.table, []):
                plain = _plain(item)
                found[plain["bookingId"]] = plain
            request = response.get("UnprocessedKeys") or {}
    return found


def scan_run_bookings(target: Target, run_id: str) -> list[dict[str, Any]]:
    """Every booking item of this run, whether or not the API said it was accepted."""
    pages = (
        target.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=target.table,
            FilterExpression="itemType = :b AND begins_with(bookerEmail, :p)",
            ExpressionAttributeValues={
                ":b": {"S": "BOOKING"},
                ":p": {"S": f"load-{run_id}-"},
            },
            ConsistentRead=True,
        )
    )
    return [_plain(item) for page in pages for item in page["Items"]]


def fetch_mail(endpoint: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{endpoint}/_aws/ses", timeout=30) as response:
        messages: list[dict[str, Any]] = json.load(response)["messages"]
    return messages


def read_seats(target: Target, flights: list[Flight]) -> dict[Flight, int | None]:
    dynamodb = target.client("dynamodb")
    seats: dict[Flight, int | None] = {}
    for flight in flights:
        item = dynamodb.get_item(TableName=target.table, Key=flight.key, ConsistentRead=True)
        value = item.get("Item", {}).get("availableSeats", {}).get("N")
        seats[flight] = int(value) if value is not None else None
    return seats


def wait_settled(
    target: Target, booking_ids: list[str], deadline: float, interval: float = 0.5
) -> tuple[dict[str, dict[str, Any]], bool]:
    """Poll until every accepted booking is stored and its email recorded as sent."""
    pending = list(booking_ids)
    bookings: dict[str, dict[str, Any]] = {}
    while True:
        bookings.update(fetch_bookings(target, pending))
        pending = [b for b in booking_ids if bookings.get(b, {}).get("notification") != "SENT"]
        if not pending:
            return bookings, True
        if time.monotonic() > deadline:
            return bookings, False
        time.sleep(interval)


# --- where the time went -----------------------------------------------------------------


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat (Linux)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def _process_cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Machine busy share and named processes' CPU seconds between start and stop: on a
    shared 2-core box the throughput means little without them."""

    def __init__(self, pids: dict[str, int] | None = None) -> None:
        self.pids = pids or {}
        self.machine = _cpu_ticks()
        self.processes = {name: _process_cpu_s(pid) for name, pid in self.pids.items()}
        self.started = time.monotonic()

    def report(self) -> dict[str, Any]:
        busy, total = _cpu_ticks()
        d_busy, d_total = busy - self.machine[0], total - self.machine[1]
        wall = time.monotonic() - self.started
        result: dict[str, Any] = {
            "cpus": os.cpu_count(),
            "machineBusyPercent": round(100 * d_busy / d_total, 1) if d_total else None,
            "loadAverage1m": round(os.getloadavg()[0], 2),
        }
        for name, pid in self.pids.items():
            before, after = self.processes[name], _process_cpu_s(pid)
            if before is not None and after is not None:
                result[f"{name}CpuPercentOfOneCore"] = round(100 * (after - before) / wall, 1)
        return result


# --- the audit -----------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(pct: float) -> float:
        index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
        return round(ordered[index], 1)

    return {"p50": pick(50), "p95": pick(95), "p99": pick(99), "max": round(ordered[-1], 1)}


def _wall(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def audit(
    outcomes: list[Outcome],
    flights: list[Flight],
    seats_after: Mapping[Flight, int | None],
    stored: list[dict[str, Any]],
    mail: list[dict[str, Any]],
    settled: bool,
) -> dict[str, dict[str, Any]]:
    """The invariants, each ``{"pass": bool, ...details}``; details list a few offenders."""
    by_email: dict[str, Counter[str]] = {}
    for message in mail:
        for to in message.get("Destination", {}).get("ToAddresses", []):
            by_email.setdefault(to, Counter())[str(message.get("Template"))] += 1
    accepted = {o.booking_id: o for o in outcomes if o.booking_id}
    stored_ids = {b["bookingId"] for b in stored}

    failed_requests = [o for o in outcomes if o.status is None or o.status >= 500]
    checks: dict[str, dict[str, Any]] = {
        "no_5xx_or_transport_error": {
            "pass": not failed_requests,
            "count": len(failed_requests),
            "examples": [
                {"status": o.status, "error": o.error, "body": o.body} for o in failed_requests[:5]
            ],
        }
    }

    confirmed_seats: Counter[tuple[str, str]] = Counter()
    for booking in stored:
        if booking.get("status") == "CONFIRMED":
            confirmed_seats[(booking["destination"], booking["flightDate"])] += int(
                booking["numberOfSeats"]
            )
    bad_flights = []
    for flight in flights:
        sold = confirmed_seats[(flight.destination, flight.date)]
        left = seats_after.get(flight)
        if left is None or sold > flight.seats or left < 0 or left != flight.seats - sold:
            bad_flights.append(
                {"flight": f"{flight.destination} {flight.date}", "initial": flight.seats}
                | {"confirmedSeats": sold, "availableSeats": left}
            )
    checks["no_overbooking"] = {
        "pass": not bad_flights,
        "flights": len(flights),
        "seatsSold": sum(confirmed_seats.values()),
        "capacity": sum(f.seats for f in flights),
        "offenders": bad_flights[:5],
    }

    missing = sorted(set(accepted) - stored_ids)
    unexpected = sorted(stored_ids - set(accepted))
    checks["no_lost_events"] = {
        "pass": not missing and not unexpected and len(stored) == len(accepted),
        "accepted": len(accepted),
        "stored": len(stored),
        "missing": missing[:5],
        "unexpected": unexpected[:5],
    }

    def mail_check(status: str, template: str) -> dict[str, Any]:
        wrong = []
        group = [b for b in stored if b.get("status") == status]
        for booking in group:
            counts = by_email.get(booking["bookerEmail"], Counter())
            if counts[template] != 1 or sum(counts.values()) != 1:
                wrong.append({"bookingId": booking["bookingId"], "mail": dict(counts)})
        return {"pass": not wrong, "bookings": len(group), "offenders": wrong[:5]}

    checks["one_receipt_per_confirmed"] = mail_check("CONFIRMED", RECEIPT_TEMPLATE)
    checks["one_notice_per_rejected"] = mail_check("REJECTED", REJECTION_TEMPLATE)
    refused_mailed = [
        o.request.email for o in outcomes if not o.booking_id and o.request.email in by_email
    ]
    checks["no_mail_for_refused_requests"] = {
        "pass": not refused_mailed,
        "refused": sum(1 for o in outcomes if not o.booking_id),
        "offenders": refused_mailed[:5],
    }
    checks["settled_before_deadline"] = {"pass": settled}
    return checks


def run_load(
    target: Target,
    *,
    requests: int = DEFAULT_REQUESTS,
    concurrency: int = DEFAULT_CONCURRENCY,
    flights: int = DEFAULT_FLIGHTS,
    seats: int | None = None,
    oversubscription: float = DEFAULT_OVERSUBSCRIPTION,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int | None = None,
    progress: Any = None,
    watch: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Run the load against ``target`` and return the JSON-able report (``ok`` says it all).

    ``watch`` names processes (e.g. ``{"localstack": pid}``) whose CPU use is reported."""
    say = progress or (lambda _msg: None)
    if requests < 1 or concurrency < 1 or flights < 1:
        raise LoadError("requests, concurrency and flights must be at least 1")
    deadline = time.monotonic() + timeout
    run_id = uuid.uuid4().hex[:10]
    rng = random.Random(seed)
    per_flight = seats or seats_per_flight(requests, flights, oversubscription)
    planned = seed_flights(target, flights, per_flight, rng)
    plan = plan_requests(planned, requests, run_id, rng)
    say(f"run {run_id}: {requests} bookings over {flights} flights x {per_flight} seats")

    meter = CpuMeter(watch)
    started = time.monotonic()
    outcomes = send_all(target, plan, concurrency, deadline)
    send_s = time.monotonic() - started
    say(f"sent in {send_s:.1f}s; waiting for bookings and emails to settle")
    accepted_ids = [o.booking_id for o in outcomes if o.booking_id]
    bookings, settled = wait_settled(target, accepted_ids, deadline)
    settle_s = time.monotonic() - started
    cpu = meter.report()
    stored = scan_run_bookings(target, run_id)
    mine = {o.request.email for o in outcomes}
    mail = [
        m
        for m in fetch_mail(target.endpoint)
        if set(m.get("Destination", {}).get("ToAddresses", [])) & mine
    ]
    checks = audit(outcomes, planned, read_seats(target, planned), stored, mail, settled)

    # Booking to email: the request left -> sendBookingReceipt recorded the email as sent.
    sent_at = {o.booking_id: o.sent_at for o in outcomes if o.booking_id}
    to_email = [
        (_wall(b["notificationSentAt"]) - sent_at[i]) * 1000
        for i, b in bookings.items()
        if i in sent_at and b.get("notificationSentAt")
    ]
    completed = [b for b in bookings.values() if b.get("notification") == "SENT"]
    first_sent = min((o.sent_at for o in outcomes), default=time.time())
    last_mail = max((_wall(b["notificationSentAt"]) for b in completed), default=first_sent)
    flow_s = max(last_mail - first_sent, 1e-9)

    statuses = Counter(str(o.status) for o in outcomes if o.status is not None)
    errors = Counter(o.error for o in outcomes if o.error)
    errors.update(f"http_{o.status}" for o in outcomes if o.status and o.status >= 500)
    refusals = Counter(
        f"{o.status} {o.body.get('message')}"
        for o in outcomes
        if o.status and 400 <= o.status < 500
    )
    by_status = Counter(b.get("status") for b in stored)
    return {
        "ok": all(c["pass"] for c in checks.values()),
        "run": run_id,
        "endpoint": target.endpoint,
        "parameters": {
            "requests": requests,
            "concurrency": concurrency,
            "flights": flights,
            "seatsPerFlight": per_flight,
            "seatChoices": list(SEAT_CHOICES),
            "timeoutS": timeout,
        },
        "requests": {
            "sent": sum(1 for o in outcomes if o.latency_ms is not None),
            "byStatus": dict(sorted(statuses.items())),
            "refusals4xx": dict(refusals),
        },
        "bookings": {
            "accepted": len(accepted_ids),
            "confirmed": by_status.get("CONFIRMED", 0),
            "rejected": by_status.get("REJECTED", 0),
            "notified": len(completed),
        },
        "durationS": {"send": round(send_s, 2), "untilSettled": round(settle_s, 2)},
        "throughput": {
            "requestsPerS": round(len(outcomes) / max(send_s, 1e-9), 2),
            "completedBookingsPerS": round(len(completed) / flow_s, 2),
        },
        "apiLatencyMs": percentiles(
            [o.latency_ms for o in outcomes if o.status is not None and o.latency_ms is not None]
        ),
        "bookingToEmailMs": percentiles(to_email) | {"source": "notificationSentAt"},
        "errors": dict(errors),
        "cpu": cpu,
        "checks": checks,
    }


# --- command line --------------------------------------------------------------------------


@contextlib.contextmanager
def own_sandbox(progress: Any) -> Iterator[tuple[Target, Any]]:
    """A fresh sandbox on a free port with the app deployed; stopped after, and its folder
    removed unless the block failed or set ``keep_folder`` (its logs explain a failed run)."""
    from sandbox.runner import SandboxError, temporary_sandbox
    from skybook.app import AppError, deploy_app

    try:
        with temporary_sandbox("load") as box:
            progress(f"started a sandbox at {box.endpoint}")
            try:
                outputs = deploy_app(
                    box.endpoint, outputs_file=box.dir / "outputs.json", seed=False, quiet=True
                )
            except AppError as error:
                raise LoadError(f"deploying the app failed: {error}") from error
            yield Target(box.endpoint, outputs), box
    except SandboxError as error:
        raise LoadError(str(error)) from error


def external_target(endpoint: str | None, outputs_file: str | None) -> Target:
    from bootstrap import DeployError, read_outputs
    from skybook.app import default_outputs

    try:
        outputs = read_outputs(outputs_file or default_outputs())
    except DeployError as error:
        raise LoadError(f"{error} (or start one with ./scripts/up)") from error
    recorded = str(outputs.get("endpoint", "")).rstrip("/")
    endpoint = (endpoint or recorded).rstrip("/")
    if recorded and endpoint != recorded:
        raise LoadError(
            f"the outputs file describes an app on {recorded}, not {endpoint}: "
            "pass the outputs file of that sandbox with --outputs-file"
        )
    return Target(endpoint, outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/load", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("-n", "--requests", type=int, default=DEFAULT_REQUESTS)
    parser.add_argument("-c", "--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--flights", type=int, default=DEFAULT_FLIGHTS)
    parser.add_argument("--seats", type=int, help="seats per flight (default: from demand)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="whole run, s")
    parser.add_argument("--seed", type=int, help="random seed (plan of flights and requests)")
    parser.add_argument("--endpoint", help="a running sandbox (default: start one)")
    parser.add_argument("--outputs-file", help="that sandbox's outputs (.skybook/outputs.json)")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"load: {message}", file=sys.stderr, flush=True)

    options = {
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
            report = run_load(external_target(args.endpoint, args.outputs_file), **options)
        else:
            with own_sandbox(progress) as (target, box):
                pid = box.process.pid if box.process else None
                report = run_load(target, **options, watch={"localstack": pid} if pid else None)
                box.keep_folder = not report["ok"]
    except LoadError as error:
        print(f"load: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
