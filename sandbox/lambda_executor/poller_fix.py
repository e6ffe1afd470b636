"""A stopping async-event poller of LocalStack 4.14 gives back the events it holds.

The ~70 s wait after a function update: LocalStack keeps a function's async events in an
internal SQS queue read by one ``Poller`` thread per version (``event_manager.py``). When an
update makes a new version active, ``update_version_state`` starts the new version's poller on
the same queue and only *submits* ``stop_for_update`` of the old one; the function already
reports ``LastUpdateStatus: Successful``. The old poller is then usually inside a
``ReceiveMessage`` long poll (``WaitTimeSeconds=2``, ``VisibilityTimeout=timeout + 60``). An
event arriving in that window may be received by the old poller, which sees it was shut down
and drops the messages on the floor: they stay invisible for the function's timeout + 60 s
(70 s with a 10 s timeout) before the new poller can have them. Events the old poller had
received but not started yet are lost the same way, because ``stop()`` cancels them.

There is no seam for this (no hook around pollers, and the Poller class is instantiated
directly by ``LambdaEventManager``), so this module patches three of its methods, keeping
LocalStack's code as it is and only adding book-keeping around it:

- the poller's SQS client remembers every message it received, until a ``handle_message``
  starts on it;
- ``stop()`` then makes every message still remembered visible again at once (its
  visibility timeout set to 0), and so does a receive that returns after the stop;
- ``handle_message`` skips a message that was given back (the new poller has it).

Installed once, by the executor plugin (``install()`` is idempotent).
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

LOG = logging.getLogger(__name__)

_current = threading.local()  # the Poller whose run() loop this thread is


class _Held:
    """Messages a poller received and has not started to handle yet."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: dict[str, dict[str, Any]] = {}  # receipt handle -> message


def _held(poller: Any) -> _Held:
    held = poller.__dict__.get("_skybook_held")
    if held is None:
        held = poller.__dict__.setdefault("_skybook_held", _Held())
    return held


def _give_back(poller: Any, client: Any) -> None:
    """Make the poller's unstarted messages visible to the next poller now."""
    held = _held(poller)
    with held.lock:
        messages, held.messages = list(held.messages.values()), {}
    for message in messages:
        try:
            _make_visible(client, poller.event_queue_url, message["ReceiptHandle"])
        except Exception as e:  # the queue is gone (function deleted): nothing to give back
            LOG.debug("Could not give back async event %s: %s", message.get("MessageId"), e)
    if messages:
        LOG.debug("Gave back %d async event(s) held by a stopped poller", len(messages))


def _make_visible(client: Any, queue_url: str, receipt_handle: str) -> None:
    """ChangeMessageVisibility to 0. LocalStack's pollers use its in-memory FakeSqsClient,
    which has no such call: its queue object does (and wakes the waiting receivers)."""
    if hasattr(client, "change_message_visibility"):
        client.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
        )
    else:
        queue = client.queue_manager.get_queue(queue_name=queue_url)
        queue.update_visibility_timeout(receipt_handle, 0)


class _RememberingClient:
    """The poller's SQS client, remembering what it received (everything else passes)."""

    def __init__(self, client: Any, poller: Any) -> None:
        self._client = client
        self._poller = poller
        poller.__dict__["_skybook_client"] = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def receive_message(self, **kwargs: Any) -> Any:
        response = self._client.receive_message(**kwargs)
        held = _held(self._poller)
        with held.lock:
            for message in response.get("Messages") or []:
                held.messages[message["ReceiptHandle"]] = message
        if self._poller._shutdown_event.is_set():  # stopped while we were polling
            _give_back(self._poller, self._client)
        return response


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.services.lambda_.invocation import event_manager

    poller_cls = event_manager.Poller
    original_run = poller_cls.run
    original_stop = poller_cls.stop
    original_handle = poller_cls.handle_message
    original_get_client = event_manager.get_sqs_client

    @functools.wraps(original_run)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        _current.poller = self
        try:
            return original_run(self, *args, **kwargs)
        finally:
            _current.poller = None

    @functools.wraps(original_get_client)
    def get_sqs_client(function_version: Any, client_config: Any = None) -> Any:
        client = original_get_client(function_version, client_config=client_config)
        poller = getattr(_current, "poller", None)
        return _RememberingClient(client, poller) if poller is not None else client

    @functools.wraps(original_stop)
    def stop(self: Any) -> None:
        original_stop(self)
        client = self.__dict__.get("_skybook_client")
        if client is not None:
            _give_back(self, client)

    @functools.wraps(original_handle)
    def handle_message(self: Any, message: dict[str, Any]) -> None:
        if "_skybook_client" in self.__dict__:  # a poller whose receives we saw
            held = _held(self)
            with held.lock:
                if held.messages.pop(message["ReceiptHandle"], None) is None:
                    return  # given back when the poller stopped: the new poller has it
        original_handle(self, message)

    poller_cls.run = run
    poller_cls.stop = stop
    poller_cls.handle_message = handle_message
    event_manager.get_sqs_client = get_sqs_client
