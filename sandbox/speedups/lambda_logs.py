"""Lambda's CloudWatch Logs delivery batches what arrives within a short window into one call
per stream.

LocalStack ships each invocation's output with its own ``PutLogEvents`` call, from one
``LogHandler`` thread per function version: 3 of a booking's 5 ``PutLogEvents`` (the others
are the all-events log rule's), each a botocore call, the whole handler chain and moto's own
parsing (docs/performance.md). This
module patches ``LogHandler.add_logs`` to stamp each invocation's output with the time it was
handed over, and ``LogHandler.run_log_loop`` to take every item that arrives within a window
after the first, and to put them with one ``PutLogEvents`` per log stream (in order, each line
with its own invocation's time; LocalStack stamped all lines of an invocation with the time of
the call). The window is FLUSH_S (0.2 s) while invocations come one at a time, FLUSH_BUSY_S
(1 s) once the previous round held more than one: under load every environment has its own
stream, so a 0.2 s window still put about one invocation per call (17 % of LocalStack's GIL in
a load run); with 1 s, 0.4 calls per booking and 5 %. Logs reach CloudWatch Logs at most a
second later than before; AWS itself delivers them with a delay of seconds. Once a stream
exists, its batches go straight into the moto logs backend of the function role's account
(:mod:`sandbox.speedups.logs_backend`: each line otherwise serialised and parsed three times);
the rest is LocalStack's loop as it is: the client (the function's role) for a missing group or
stream (created) and whenever metric filters exist, logging errors, stopping on its shutdown
pill.

There is no seam for log delivery (``LambdaVersionManager`` creates its ``LogHandler``
directly); installed once at LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.speedups.logs_backend import writable_backend

LOG = logging.getLogger(__name__)

FLUSH_S = 0.2  # how long the first item waits for others
FLUSH_BUSY_S = 1.0  # the same when the previous round was not alone
MAX_ITEMS = 1000  # invocations per round
MAX_EVENTS = 5000  # log events per PutLogEvents (AWS allows 10,000 and 1 MB)


@dataclass(frozen=True)
class _Stamped:
    """An invocation's output with the time (ms) it was handed to the log handler."""

    item: Any  # localstack's LogItem
    timestamp: int


def _events(batch: Iterable[_Stamped]) -> list[dict[str, Any]]:
    """LocalStack's split of each invocation's output into lines (empty lines dropped, as
    CloudWatch refuses them), each line with its invocation's time."""
    events = []
    for stamped in batch:
        for line in stamped.item.logs.split("\n"):
            if line:
                events.append({"timestamp": stamped.timestamp, "message": line + "\n"})
    return events


def _collect(
    log_queue: queue.Queue[Any], first: Any, shutdown_pill: Any, window_s: float = FLUSH_S
) -> tuple[list[_Stamped], bool]:
    """The first item and those arriving within ``window_s``; True if the shutdown pill came."""
    batch = [first]
    deadline = time.monotonic() + window_s
    while len(batch) < MAX_ITEMS:
        remaining = deadline - time.monotonic()
        try:
            item = log_queue.get(timeout=remaining) if remaining > 0 else log_queue.get_nowait()
        except queue.Empty:
            return batch, False
        if item is shutdown_pill:
            return batch, True
        batch.append(item)
    return batch, False


def _put(
    logs_client: Any, backend: Any, group: str, stream: str, events: list[dict[str, Any]]
) -> None:
    """LocalStack's put, creating a missing group and stream, in chunks CloudWatch accepts;
    straight into ``backend`` when there is one (the group and stream exist)."""
    for start in range(0, len(events), MAX_EVENTS):
        chunk = events[start : start + MAX_EVENTS]
        if backend is not None:
            backend.put_log_events(group, stream, chunk)
            continue
        try:
            logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)
        except logs_client.exceptions.ResourceNotFoundException:
            with contextlib.suppress(logs_client.exceptions.ResourceAlreadyExistsException):
                logs_client.create_log_group(logGroupName=group)
            logs_client.create_log_stream(logGroupName=group, logStreamName=stream)
            logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.aws.connect import connect_to
    from localstack.services.lambda_.invocation import logs
    from localstack.utils.aws.client_types import ServicePrincipal

    handler_cls = logs.LogHandler
    original_add = handler_cls.add_logs

    def add_logs(self: Any, log_item: Any) -> None:
        original_add(self, _Stamped(log_item, int(time.time() * 1000)))

    def run_log_loop(self: Any, *args: Any, **kwargs: Any) -> None:
        logs_client = connect_to.with_assumed_role(
            region_name=self.region,
            role_arn=self.role_arn,
            service_principal=ServicePrincipal.lambda_,
        ).logs
        arn = str(self.role_arn or "").split(":")
        account_id = arn[4] if len(arn) > 4 else ""  # the role's account is the client's
        window_s = FLUSH_S
        while not self._shutdown_event.is_set():
            first = self.log_queue.get()
            if first is logs.QUEUE_SHUTDOWN:
                return
            batch, stop = _collect(self.log_queue, first, logs.QUEUE_SHUTDOWN, window_s)
            window_s = FLUSH_BUSY_S if len(batch) > 1 else FLUSH_S
            streams: dict[tuple[str, str], list[_Stamped]] = {}
            for stamped in batch:
                key = (stamped.item.log_group, stamped.item.log_stream)
                streams.setdefault(key, []).append(stamped)
            for (group, stream), items in streams.items():
                try:
                    backend = None
                    if account_id:
                        backend = writable_backend(account_id, self.region, group, stream)
                    _put(logs_client, backend, group, stream, _events(items))
                except Exception as e:
                    LOG.warning(
                        "Error saving logs to group %s in region %s: %s", group, self.region, e
                    )
            if stop:
                return

    handler_cls.add_logs = add_logs
    handler_cls.run_log_loop = run_log_loop
