"""EventBridge's CloudWatch Logs target writes to the logs backend directly instead of
through four protocol round trips.

LocalStack's ``LogsTargetSender`` writes each event to a log stream of its own: a
``CreateLogStream`` and a ``PutLogEvents`` on an internal boto3 client, each parsed twice
(:mod:`sandbox.speedups.logs_backend`). The app's all-events rule does this for both events of
a booking: about 8 % of LocalStack's CPU under load (docs/performance.md). This module makes
the same two calls on the moto logs backend the provider ends in: the same stream per event (a
UUID), the same message and timestamp, under the event bus's account and region as before.

What differs: the handler chain is skipped (nothing of it applies to these two calls here:
no IAM enforcement, the request metadata only names EventBridge as the caller), and a failure
is moto's exception rather than a ``ClientError``, which only changes the wording of the
"TargetDeliveryFailure" line LocalStack logs (the event is dropped either way). Seen on both
ways alike: once a log group has a subscription filter, LocalStack 4.14 fails to create
streams in it (``ResourceAlreadyExistsException``), so such a group logs no events at all.

It takes the short way only when nothing else would happen on the long one
(:func:`~sandbox.speedups.logs_backend.writable_backend`), and not for a target with a
``RoleArn`` (another account's credentials); otherwise it calls LocalStack's own
``send_event``. Installed once at LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sandbox.speedups.logs_backend import writable_backend


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.services.events import target

    original = target.LogsTargetSender.send_event

    @functools.wraps(original)
    def send_event(self: Any, event: Any, trace_header: Any) -> None:
        group = self.target["Arn"].split(":")[6]
        backend = None
        if not self.target.get("RoleArn"):  # else: the client of an assumed role, as before
            backend = writable_backend(self.account_id, self.region, group)
        if backend is None:
            original(self, event, trace_header)
            return
        stream = str(uuid.uuid4())  # a stream per event, as LocalStack does
        backend.create_log_stream(group, stream)
        message = {"timestamp": target.now_utc(millis=True), "message": target.to_json_str(event)}
        backend.put_log_events(group, stream, [message])

    target.LogsTargetSender.send_event = send_event
