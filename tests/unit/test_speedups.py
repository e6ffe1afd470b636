"""The parts of the LocalStack speedups and the profiler that need no LocalStack: switches,
log batching, the shared keepalive timer, UUIDs, request counting. Their effect inside
LocalStack is covered by the sandbox and e2e suites, which run with every speedup on."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from botocore.config import Config
from botocore.useragent import UserAgentString

from devtools import flamegraph
from devtools.profile import count_requests, per_booking
from sandbox.lambda_executor import environment_bound
from sandbox.speedups import (
    SPEEDUPS,
    chosen,
    fast_uuid,
    flow_first,
    internal_invoke,
    internal_resources,
    keepalive_timers,
    lambda_logs,
    user_agent,
)


def test_all_speedups_by_default_none_with_0_some_left_out_or_only_some() -> None:
    assert chosen("") == (list(SPEEDUPS), [])
    assert chosen("0") == ([], []) == chosen("off")
    assert chosen("-fast_uuid, -lambda_logs") == (
        [s for s in SPEEDUPS if s not in ("fast_uuid", "lambda_logs")],
        [],
    )
    assert chosen("lambda_logs,http_server") == (
        [s for s in SPEEDUPS if s in ("lambda_logs", "http_server")],
        [],
    )
    assert chosen("-fast_uid") == (list(SPEEDUPS), ["-fast_uid"])  # a typo is reported


def test_a_cancelled_shared_timer_lets_go_of_what_it_would_call() -> None:
    env = object()
    timer = keepalive_timers.SharedTimer(600, lambda e: None, args=[env])
    timer.start()
    timer.cancel()
    assert env not in timer.args and timer.kwargs == {}


def test_log_batch_takes_what_arrives_within_the_flush_window_and_stops_at_the_pill() -> None:
    pill = object()
    items: queue.Queue[object] = queue.Queue()
    for i in range(3):
        items.put(i)
    batch, stop = lambda_logs._collect(items, "first", pill)
    assert (batch, stop) == (["first", 0, 1, 2], False)

    items.put(7)
    items.put(pill)
    items.put(8)
    batch, stop = lambda_logs._collect(items, "first", pill)
    assert (batch, stop) == (["first", 7], True)
    assert items.get_nowait() == 8  # what came after the pill stays


def test_log_events_keep_each_invocations_time_and_drop_empty_lines() -> None:
    def stamped(text: str, at: int) -> lambda_logs._Stamped:
        item = SimpleNamespace(logs=text, log_group="g", log_stream="s")
        return lambda_logs._Stamped(item, at)

    events = lambda_logs._events([stamped("a\n\nb", 1), stamped("c\n", 2)])
    assert events == [
        {"timestamp": 1, "message": "a\n"},
        {"timestamp": 1, "message": "b\n"},
        {"timestamp": 2, "message": "c\n"},
    ]


def test_shared_timer_fires_once_after_its_interval_and_never_when_cancelled() -> None:
    fired: list[tuple[str, float]] = []
    done = threading.Event()
    started = time.monotonic()

    def record(name: str) -> None:
        fired.append((name, time.monotonic() - started))
        done.set()

    cancelled = keepalive_timers.SharedTimer(0.05, record, args=["cancelled"])
    kept = keepalive_timers.SharedTimer(0.15, record, args=["kept"])
    cancelled.start()
    kept.start()
    cancelled.cancel()
    assert done.wait(5)
    assert [name for name, _ in fired] == ["kept"]
    assert fired[0][1] >= 0.15
    kept.fire()  # a second fire does nothing
    assert len(fired) == 1


def test_fast_uuid4_gives_distinct_version_4_uuids() -> None:
    ids = {fast_uuid.uuid4() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert {u.version for u in ids} == {4}
    assert {u.variant for u in ids} == {uuid.RFC_4122}


def test_environment_bound_and_surplus_idle_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(environment_bound.LIMIT_ENV, raising=False)
    assert environment_bound.limit() == environment_bound.DEFAULT_LIMIT
    monkeypatch.setenv(environment_bound.LIMIT_ENV, "0")
    assert environment_bound.limit() is None
    monkeypatch.setenv(environment_bound.LIMIT_ENV, "five")
    assert environment_bound.limit() == environment_bound.DEFAULT_LIMIT
    monkeypatch.setenv(environment_bound.SURPLUS_IDLE_ENV, "2.5")
    assert environment_bound.surplus_idle_s() == 2.5


def test_request_count_reads_localstacks_trace_log() -> None:
    log = (
        "2026-12-01T17:09:54.324  INFO --- [cess-rules_0] l.request.internal.aws     : "
        "AWS lambda.Invoke => 202; 000000000000/us-east-1; ...\n"
        "2026-12-01T17:09:54.331  INFO --- [et.reactor-1] localstack.request.aws     : "
        "AWS dynamodb.GetItem => 200; ...\n"
        "2026-12-01T17:09:54.332  INFO --- [et.reactor-2] localstack.request.http    : "
        "POST /_aws/execute-api/abc123/prod/book-flight => 200; ...\n"
        "2026-12-01T17:09:54.333  INFO --- [et.reactor-1] localstack.request.aws     : "
        "AWS dynamodb.GetItem => 200; ...\n"
    )
    counts = count_requests(log)
    assert per_booking(counts, 2) == {
        "external dynamodb.GetItem": 1.0,
        "internal lambda.Invoke": 0.5,
        "external POST /_aws/execute-api/<api>/prod/book-flight": 0.5,
    }


def test_flame_graph_from_a_speedscope_recording(tmp_path: Path) -> None:
    recording = tmp_path / "r.speedscope.json"
    site = "/x/lib/python3.13/site-packages/"
    recording.write_text(
        json.dumps(
            {
                "shared": {
                    "frames": [
                        {"name": "main", "file": f"{site}localstack/runtime/main.py"},
                        {"name": "parse", "file": f"{site}werkzeug/http.py"},
                        {"name": "wait", "file": "/x/lib/python3.13/threading.py"},
                    ]
                },
                "profiles": [
                    {"samples": [[0, 1], [0, 1], [0]], "weights": [0.5, 0.25, 0.25]},
                    {"samples": [[2]], "weights": [1.0]},
                ],
            }
        )
    )
    root, own, inclusive = flamegraph.load(recording)
    assert root.weight == 2.0
    assert flamegraph.top(own, root.weight, 2) == [
        {"frame": "wait (threading.py)", "percent": 50.0},
        {"frame": "parse (werkzeug/http.py)", "percent": 37.5},
    ]
    assert inclusive["main (localstack/runtime/main.py)"] == 1.0
    svg = ElementTree.fromstring(flamegraph.render_svg(root, "a <title>"))
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert "parse (werkzeug/http.py) (37.5%)" in titles


def _waiting(backlog: flow_first.Backlog, count: int) -> None:
    """Until ``count`` requests wait at the gate (a deadline, no sleep as synchronisation)."""
    deadline = time.monotonic() + 5
    while len(backlog._waiters) < count:
        assert time.monotonic() < deadline, "the requests never reached the gate"
        time.sleep(0.005)


def test_flow_gate_waits_while_the_backlog_is_at_its_limit() -> None:
    backlog = flow_first.Backlog(limit=2)
    backlog.add("a")
    assert backlog.enter(timeout=5) == 0.0  # below the limit: no wait
    backlog.leave()
    backlog.add("b")
    threading.Timer(0.2, backlog.done, args=["a"]).start()
    waited = backlog.enter(timeout=5)
    assert 0.1 < waited < 5 and len(backlog) == 1
    backlog.leave()


def test_flow_gate_lets_requests_go_first_come_first_served_within_its_in_flight_bound() -> None:
    backlog = flow_first.Backlog(limit=10, in_flight_limit=1)
    assert backlog.enter(timeout=5) == 0.0  # the one in flight
    order: list[int] = []

    def request(number: int) -> None:
        backlog.enter(timeout=5)
        order.append(number)

    threads = []
    for number in range(3):  # queued one after the other
        threads.append(threading.Thread(target=request, args=(number,)))
        threads[-1].start()
        _waiting(backlog, number + 1)
    for expected in range(3):
        backlog.leave()  # one answered: the next in line goes, and only it
        deadline = time.monotonic() + 5
        while len(order) <= expected and time.monotonic() < deadline:
            time.sleep(0.005)
        assert order == list(range(expected + 1))
        assert backlog.in_flight == 1
    for thread in threads:
        thread.join(timeout=5)


def test_flow_gate_opens_for_waiters_only_as_far_as_its_bounds_allow() -> None:
    backlog = flow_first.Backlog(limit=2, in_flight_limit=2)
    for request_id in ("a", "b", "c"):
        backlog.add(request_id)
    passed: list[float] = []
    waiters = [
        threading.Thread(target=lambda: passed.append(backlog.enter(timeout=5))) for _ in range(3)
    ]
    for waiter in waiters:
        waiter.start()
    _waiting(backlog, 3)
    backlog.done("a")  # still at the limit (2): nobody goes
    assert len(backlog._waiters) == 3 and backlog.in_flight == 0
    backlog.done("b")  # below it: two go (the in-flight bound), the third waits
    assert len(backlog._waiters) == 1 and backlog.in_flight == 2
    backlog.leave()
    assert not backlog._waiters and backlog.in_flight == 2
    for waiter in waiters:
        waiter.join(timeout=5)
    assert len(passed) == 3


def test_flow_gate_gives_up_after_its_timeout_and_forgets_a_stopped_owner() -> None:
    backlog = flow_first.Backlog(limit=1)
    manager, other = object(), object()
    backlog.add("r", owner=manager)
    assert backlog.enter(timeout=0.1) >= 0.1  # nobody finishes: it goes ahead
    assert backlog.in_flight == 1 and not backlog._waiters
    backlog.leave()
    backlog.done("unknown")  # done twice or never counted: no harm
    backlog.add("s", owner=other)
    backlog.drop_owner(manager)  # e.g. its function was deleted with events queued
    assert len(backlog) == 1


def test_flow_backlog_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    default = flow_first.DEFAULT_BACKLOG
    for raw, limit in (("", default), ("0", 0), ("3", 3), ("x", default)):
        monkeypatch.setenv(flow_first.BACKLOG_ENV, raw)
        assert flow_first.backlog_limit() == limit


def test_flow_in_flight_bound_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    default = flow_first.API_IN_FLIGHT
    for raw, bound in (("", default), ("10", 10), ("0", 1), ("x", default)):
        monkeypatch.setenv(flow_first.IN_FLIGHT_ENV, raw)
        assert flow_first.in_flight_limit() == bound


def test_internal_invoke_keeps_the_clients_parameters_in_its_request_context() -> None:
    context: dict[str, object] = {}
    params = {"FunctionName": "f", "Payload": b"{}"}
    internal_invoke.keep_params(params=params, context=context)
    params["FunctionName"] = "changed later"
    assert context[internal_invoke.PARAMS_KEY] == {"FunctionName": "f", "Payload": b"{}"}


def test_a_builders_copy_for_another_client_config_gets_its_own_string() -> None:
    build = user_agent.cached(UserAgentString.to_string)
    session_level = UserAgentString.from_environment()
    assert "extra/1" not in build(session_level)
    config = Config(user_agent_extra="extra/1")
    for_client = session_level.with_client_config(config)
    assert build(for_client) == UserAgentString.to_string(for_client)
    assert "extra/1" in build(for_client)
    config.user_agent_extra = "extra/2"  # type: ignore[attr-defined]  # changed in place
    assert "extra/2" in build(for_client)


def test_localstacks_resources_are_looked_for_only_where_one_can_be() -> None:
    routes = ["/_localstack/health", "/_localstack/init/<stage>", "/_localstack"]
    can = internal_resources.can_hold_a_resource
    assert not can("/", routes)
    assert not can("/_aws/execute-api/abc/prod/book-flight", routes)
    assert not can("/2015-03-31/functions/f/invocations", routes)
    assert can("/_localstack/health", routes)
    assert can("/_localstack/nothing-here", routes)  # LocalStack's own 404
    assert can("//_localstack//health", routes)  # werkzeug merges the slashes first
    assert can("/", [*routes, "/_localstack-extra/x"])  # a route elsewhere: no shortcut
    assert can("/anything", [*routes, "/<path:path>"])
