"""Events the app gave up on, listed and sent through again ("redriven").

Two queues of the stack hold them (see bootstrap/README.md, "Failed events"):

* ``<stack>-failed-events``: Lambda's on-failure records. A function raised, timed out or
  died on the event and on both async retries; the body is the invocation record
  (``requestContext``, ``requestPayload`` = the event, ``responsePayload`` = the error).
* ``<stack>-events-dlq``: EventBridge's dead letters. The event never reached the function;
  the body is the event, the rule, target and error are message attributes.

SQS cannot peek, so listing receives every message for a short while (``HOLD_SECONDS``) and
makes it visible again right away; a listing running at the same time as another one (or a
redrive) can miss what the other holds. On AWS, receives sample servers, so a listing may
rarely miss a message: list again.

Redrive re-invokes the function that failed, asynchronously, with the original event, and
deletes the message once Lambda accepted the invocation. Re-invoking (rather than putting the
event on the bus again) reaches only the consumer that failed, not every rule (the event log
would record it twice, a future consumer would get a duplicate), and keeps the event's id.
Lambda's retries and the on-failure destination apply again, so an event that fails again
comes back to the queue instead of being lost. The functions are idempotent on the booking
id, so redriving an event that was handled meanwhile books and mails nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions

from bootstrap import Target
from skybook import appdata
from skybook.app import AppError

HOLD_SECONDS = 30  # how long listed messages stay hidden if we crash before releasing them
MAX_MESSAGES = 1000  # per queue: more than a person reads, fewer than a runaway loop
FAILED_EVENTS = "failed-events"
EVENTS_DLQ = "events-dlq"


class DlqError(AppError):
    """A failed-events request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class FailedEvent:
    """One event in a failed-events queue, with what is known of its failure."""

    id: str  # the SQS message id: what ``redrive`` takes
    queue: str  # FAILED_EVENTS or EVENTS_DLQ
    function: str  # the deployed function that failed on it ("" if the message does not say)
    error: str  # "<errorType>: <errorMessage>", or the failure condition
    attempts: int | None  # invocations (first try + retries), when the message says
    condition: str  # RetriesExhausted, EventAgeExceeded, or EventBridge's error code
    failed_at: str  # ISO UTC, when it was given up on
    event: dict[str, Any]  # the original event, as the function received it
    function_arn: str = ""  # what redrive invokes
    receipt_handle: str = field(default="", repr=False, compare=False)

    @property
    def booking_id(self) -> str | None:
        detail = self.event.get("detail")
        value = detail.get("bookingId") if isinstance(detail, dict) else None
        return value if isinstance(value, str) else None

    @property
    def detail_type(self) -> str | None:
        value = self.event.get("detail-type")
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "queue": self.queue,
            "function": self.function,
            "functionArn": self.function_arn,
            "error": self.error,
            "attempts": self.attempts,
            "condition": self.condition,
            "failedAt": self.failed_at,
            "bookingId": self.booking_id,
            "detailType": self.detail_type,
            "event": self.event,
        }


@dataclass
class RedriveResult:
    """What a redrive did: events handed to Lambda again, and those left in their queue."""

    redriven: list[FailedEvent] = field(default_factory=list)
    failed: list[tuple[FailedEvent, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "redriven": [e.to_json() for e in self.redriven],
            "failed": [{**e.to_json(), "redriveError": why} for e, why in self.failed],
        }


# --- the public API ------------------------------------------------------------------------


def list_failed(outputs: dict[str, Any], target: Target) -> list[FailedEvent]:
    """Every failed event of the stack, oldest first; the queues are left as they were."""
    view = appdata.view(outputs, target)
    found: list[FailedEvent] = []
    for queue, url in _queues(view):
        messages = _receive_all(view, url)
        try:
            found += [_parse(queue, m) for m in messages]
        finally:
            _release(view, url, messages)
    return sorted(found, key=lambda e: (e.failed_at, e.id))


def redrive(
    outputs: dict[str, Any], target: Target, ids: Iterable[str] | None = None
) -> RedriveResult:
    """Re-invoke the failed function (async) with each chosen event, then delete its message.

    ``ids=None`` redrives everything. An id that is not in the queues is an error, raised
    before anything is redriven. An event that cannot be re-invoked stays in its queue.
    """
    view = appdata.view(outputs, target)
    ours = {str(name) for name in (outputs.get("functions") or {}).values()}
    wanted = None if ids is None else list(dict.fromkeys(ids))
    held: list[tuple[str, list[dict[str, Any]]]] = []
    done: set[str] = set()  # receipt handles of the messages deleted
    result = RedriveResult()
    try:
        chosen: list[tuple[str, FailedEvent]] = []
        for queue, url in _queues(view):
            messages = _receive_all(view, url)
            held.append((url, messages))
            for message in messages:
                event = _parse(queue, message)
                if wanted is None or event.id in wanted:
                    chosen.append((url, event))
        if wanted is not None:
            unknown = sorted(set(wanted) - {e.id for _, e in chosen})
            if unknown:
                raise DlqError(
                    f"no failed event with id {', '.join(unknown)} in stack "
                    f"{outputs.get('stack')}: 'skybook dlq list' shows the ids"
                )
        for url, event in chosen:
            why = _redrive_one(view, url, event, ours)
            if why is None:
                result.redriven.append(event)
                done.add(event.receipt_handle)
            else:
                result.failed.append((event, why))
    finally:
        for url, messages in held:
            _release(view, url, [m for m in messages if m["ReceiptHandle"] not in done])
    return result


# --- internals -----------------------------------------------------------------------------


def _queues(view: appdata.AppView) -> list[tuple[str, str]]:
    """(kind, url) of the stack's failed-events queue and, if it has one, its rules' DLQ."""
    outputs = view.outputs
    queues = []
    failed = outputs.get("failedEventsUrl") or _queue_url(view, f"{outputs['stack']}-failed-events")
    if not failed:
        raise DlqError(
            f"stack {outputs.get('stack')} has no failed-events queue on "
            f"{view.target.describe()}: deploy it again with 'skybook deploy'"
        )
    queues.append((FAILED_EVENTS, str(failed)))
    if outputs.get("dlqUrl"):
        queues.append((EVENTS_DLQ, str(outputs["dlqUrl"])))
    return queues


def _queue_url(view: appdata.AppView, name: str) -> str | None:
    """An older outputs file lacks the queue's URL: look it up by name."""
    sqs = view.client("sqs")
    try:
        return str(_call(view, lambda: sqs.get_queue_url(QueueName=name))["QueueUrl"])
    except DlqError:
        return None


def _call(view: appdata.AppView, call: Any) -> Any:
    """An AWS call, its errors as one line."""
    try:
        with view.friendly("queue"):
            return call()
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if "NonExistentQueue" in code or code == "QueueDoesNotExist":
            raise DlqError(
                f"a failed-events queue of stack {view.outputs.get('stack')} does not exist on "
                f"{view.target.describe()}: deploy the stack again with 'skybook deploy'"
            ) from None
        raise


def _receive_all(view: appdata.AppView, url: str) -> list[dict[str, Any]]:
    """Every message of the queue, each hidden from other readers for ``HOLD_SECONDS``."""
    sqs = view.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < MAX_MESSAGES:
        batch = _call(
            view,
            lambda: sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=HOLD_SECONDS,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ),
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen[message["MessageId"]] = message
    return list(seen.values())


def _release(view: appdata.AppView, url: str, messages: list[dict[str, Any]]) -> None:
    """Make held messages visible again at once."""
    sqs = view.client("sqs")
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(messages[start : start + 10])
        ]
        _call(view, lambda e=entries: sqs.change_message_visibility_batch(QueueUrl=url, Entries=e))


def _redrive_one(view: appdata.AppView, url: str, event: FailedEvent, ours: set[str]) -> str | None:
    """Hand the event to its function again; None when done, else why not."""
    if not event.function_arn or not event.event:
        return "the message does not say which function failed on which event"
    if event.function not in ours:
        return f"{event.function} is not a function of stack {view.outputs.get('stack')}"
    try:
        with view.friendly(f"function {event.function}"):
            response = view.client("lambda").invoke(
                FunctionName=event.function_arn,
                InvocationType="Event",
                Payload=json.dumps(event.event).encode(),
            )
    except (AppError, botocore.exceptions.ClientError) as error:
        return str(error)
    if response.get("StatusCode") != 202:
        return f"Lambda answered {response.get('StatusCode')} instead of 202 (accepted)"
    sqs = view.client("sqs")
    _call(view, lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=event.receipt_handle))
    return None


def _parse(queue: str, message: dict[str, Any]) -> FailedEvent:
    """A message of either queue as a :class:`FailedEvent` (never raises on odd messages)."""
    try:
        body: Any = json.loads(message.get("Body") or "null")
    except ValueError:
        body = None
    sent = message.get("Attributes", {}).get("SentTimestamp")
    sent_at = _iso_ms(int(sent)) if sent and str(sent).isdigit() else ""
    common = {
        "id": message["MessageId"],
        "queue": queue,
        "receipt_handle": message["ReceiptHandle"],
    }
    if isinstance(body, dict) and isinstance(body.get("requestPayload"), dict):
        return _on_failure_record(body, sent_at, common)
    if isinstance(body, dict) and queue == EVENTS_DLQ:
        return _dead_letter(body, message.get("MessageAttributes") or {}, sent_at, common)
    raw = message.get("Body") or ""
    return FailedEvent(
        function="",
        error="unreadable message: neither a Lambda invocation record nor an event",
        attempts=None,
        condition="",
        failed_at=sent_at,
        event=body if isinstance(body, dict) else {"raw": raw[:1000]},
        **common,
    )


def _on_failure_record(body: dict[str, Any], sent_at: str, common: dict[str, Any]) -> FailedEvent:
    context = body.get("requestContext") or {}
    response = body.get("responsePayload")
    condition = str(context.get("condition") or "")
    if isinstance(response, dict) and (response.get("errorType") or response.get("errorMessage")):
        error = f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}"
    else:
        error = condition or "failed"
    arn = str(context.get("functionArn") or "")
    count = context.get("approximateInvokeCount")
    return FailedEvent(
        function=_function_name(arn),
        function_arn=arn,
        error=error,
        attempts=count if isinstance(count, int) else None,
        condition=condition,
        failed_at=str(body.get("timestamp") or sent_at),
        event=body["requestPayload"],
        **common,
    )


def _dead_letter(
    body: dict[str, Any], attributes: dict[str, Any], sent_at: str, common: dict[str, Any]
) -> FailedEvent:
    def attribute(name: str) -> str:
        return str((attributes.get(name) or {}).get("StringValue") or "")

    arn = attribute("TARGET_ARN")
    retries = attribute("RETRY_ATTEMPTS")
    code = attribute("ERROR_CODE")
    error = ": ".join(part for part in (code, attribute("ERROR_MESSAGE")) if part)
    return FailedEvent(
        function=_function_name(arn),
        function_arn=arn if ":lambda:" in arn else "",
        error=error or "not delivered",
        attempts=int(retries) + 1 if retries.isdigit() else None,
        condition=attribute("EXHAUSTED_RETRY_CONDITION") or code,
        failed_at=sent_at,
        event=body,
        **common,
    )


def _function_name(arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` -> ``<name>``."""
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 and parts[2] == "lambda" else ""


def _iso_ms(ms: int) -> str:
    """Milliseconds since the epoch in the format of Lambda's records (``...T..:..:...mmmZ``)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
