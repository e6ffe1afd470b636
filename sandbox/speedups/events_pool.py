"""EventBridge delivers an event to its rules' targets on a few long-lived threads.

LocalStack's ``PutEvents`` answers at once and matches the rules and calls the targets in the
background, on a new thread per call (``start_worker_thread``; LocalStack's own TODO there
says to use a worker pool). Two such threads per booking, each started and ended, and each
start a GIL hand-off for the thread that waits for it. This module gives the events provider
a ``start_worker_thread`` that runs the same function with the same arguments on a shared
pool of WORKERS threads instead. What is delivered, in which order per rule, and the return
of ``PutEvents`` stay as they were (LocalStack ignores the thread it got back). The price: at
most WORKERS deliveries run at once, so eight slow targets (an API destination timing out, say)
hold up the events behind them; this app's targets are a Lambda function and a log group.

There is no seam for this; the events provider's module-level name is replaced, so nothing
else of LocalStack is affected. Installed once at LocalStack's start by
:mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

LOG = logging.getLogger(__name__)

WORKERS = 8


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.runtime.shutdown import ON_AFTER_SERVICE_SHUTDOWN_HANDLERS
    from localstack.services.events import provider

    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="events-process-rules")

    def run(method: Any, params: Any) -> None:
        try:
            method(params)
        except Exception:
            LOG.exception("Delivering an event to its rules' targets failed")

    def start_worker_thread(method: Any, params: Any = None, name: str | None = None) -> None:
        try:
            pool.submit(run, method, params)
        except RuntimeError:  # the pool stopped with LocalStack; a late PutEvents finds it so
            LOG.debug("LocalStack is stopping: an event is not delivered")

    provider.start_worker_thread = start_worker_thread

    # Once the services are down nothing is left to deliver to: queued deliveries are dropped
    # and LocalStack's exit does not wait for them (its published shutdown seam).
    def stop_events_pool() -> None:  # LocalStack logs a shutdown handler by its name
        pool.shutdown(wait=False, cancel_futures=True)

    ON_AFTER_SERVICE_SHUTDOWN_HANDLERS.register(stop_events_pool)
