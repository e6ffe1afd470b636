"""Where CloudWatch Logs writes of LocalStack's own components can skip the protocol.

LocalStack's components (Lambda's log delivery, EventBridge's log target) write to CloudWatch
Logs through an internal boto3 client: botocore serialises each call, LocalStack's handler
chain parses it, the logs provider hands the request to moto, which parses it again
(``call_moto``), and the answer goes back the same way. All of it ends in the moto logs
backend; where nothing else would happen on the way, the speedups write to that backend
directly. LocalStack's subscription filters still run: they are its patch of moto's
``LogStream.put_log_events``.
"""

from __future__ import annotations

from typing import Any


def writable_backend(account_id: str, region: str, group: str, stream: str | None = None) -> Any:
    """The moto logs backend to write ``group`` (and ``stream``, if given) directly, or None
    when LocalStack's own way would do more: a group or stream that does not exist (its error,
    or its creation), or any metric filter in the account and region (the provider's
    ``PutLogEvents`` checks the events against each and, when CloudWatch is one of the
    sandbox's services, which it is not by default, turns matches into metrics)."""
    from localstack.services.logs.models import get_moto_logs_backend

    backend = get_moto_logs_backend(account_id, region)
    log_group = backend.groups.get(group)
    if log_group is None or backend.filters.metric_filters:
        return None
    if stream is not None and stream not in log_group.streams:
        return None
    return backend
