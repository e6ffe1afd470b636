"""The opening every handler shares, as one decorator (after Powertools' ``inject_lambda_context``).

``@lambda_handler`` turns ``fn(call)`` into Lambda's ``handler(event, context)``: ``call`` is an
:class:`Invocation` holding the event's EventBridge envelope, the configuration (read once per
cold start) and a logger bound to the request id and, when the event names one, the bookingId.
A consumer that meets an event no retry can fix raises :class:`Dropped`; the wrapper logs it
and answers ``{"status": "DROPPED"}``, so Lambda does not retry it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common import clock, config, events
from common.log import BoundLogger, get_logger

Handler = Callable[[Any, Any], dict[str, Any]]


@dataclass(frozen=True)
class Invocation:
    """One call of a handler: the event, its envelope, the context, a bound logger."""

    event: Any
    context: Any
    envelope: events.Envelope  # all None for an event that is not from EventBridge
    log: BoundLogger

    @property
    def config(self) -> config.Config:
        """Read on first use, so that the handler decides how a bad setting answers."""
        return config.get()

    def deadline(self) -> datetime:
        """When Lambda stops this invocation, whatever the code is doing then."""
        return clock.now() + timedelta(milliseconds=self.context.get_remaining_time_in_millis())


class Dropped(Exception):
    """An event that no retry can make valid: logged at ERROR, then dropped."""

    def __init__(self, message: str, /, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


def lambda_handler(fn: Callable[[Invocation], dict[str, Any]]) -> Handler:
    """The Lambda entry point ``handler(event, context)`` that runs ``fn`` with an Invocation."""

    @functools.wraps(fn)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        received = events.envelope(event)
        log = get_logger(context)
        if received.booking_id:
            log = log.bind(bookingId=received.booking_id)
        try:
            return fn(Invocation(event, context, received, log))
        except Dropped as drop:
            log.error(drop.message, **drop.fields)
            return {"status": "DROPPED"}

    return handler
