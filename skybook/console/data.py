"""What the console shows and does, read from the sandbox on every call (no cache).

The sandbox is the truth, and one person polling every two seconds costs a handful of small
AWS calls. Each method is one view of the page (info, flights, bookings, inbox, events,
logs) or its one action (book, through the app's real API); :mod:`skybook.console.server`
only turns them into HTTP.
"""

from __future__ import annotations

import threading
import time
from http import HTTPStatus
from typing import Any

from bootstrap import DeployError, Target, stack_outputs
from bootstrap.target import DEFAULT_REGION
from skybook import appdata, inbox
from skybook.console.errors import ApiError
from skybook.httpclient import Unreachable, post_json

BOOK_TIMEOUT = 30.0
OUTPUTS_TTL = 15.0  # seconds a read of the stack's outputs is kept
DEFAULT_STACK = "skybook"


class ConsoleData:
    """The app's views for the page, read from the sandbox on every call.

    The stack's outputs are read from the stack itself (its tagged resources) and kept for
    ``OUTPUTS_TTL`` seconds, so a redeploy shows without restarting the console.
    """

    def __init__(
        self,
        endpoint: str,
        stack: str = DEFAULT_STACK,
        outputs: dict[str, Any] | None = None,
        outputs_ttl: float = OUTPUTS_TTL,
    ):
        self.endpoint = endpoint.rstrip("/")
        self.stack = stack
        self._outputs = outputs
        self._why = ""  # why there are no outputs: the stack's own message
        self._ttl = outputs_ttl
        self._read_at = time.monotonic() if outputs else None
        self._lock = threading.Lock()

    def outputs(self) -> dict[str, Any]:
        with self._lock:
            if self._read_at is None or time.monotonic() - self._read_at >= self._ttl:
                self._read_at = time.monotonic()
                try:
                    self._outputs = stack_outputs(Target.local(self.endpoint), self.stack)
                except DeployError as error:
                    self._outputs, self._why = None, str(error)
            if not self._outputs:
                raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, self._why)
            return self._outputs

    @property
    def target(self) -> Target:
        return appdata.local(self.endpoint, self.outputs())

    # --- the views ------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        try:
            outputs = self.outputs()
        except ApiError as error:
            return {"deployed": False, "endpoint": self.endpoint, "message": error.message}
        return {
            "deployed": True,
            "endpoint": self.endpoint,
            "stack": outputs.get("stack"),
            "region": outputs.get("region"),
            "bookFlightUrl": outputs.get("bookFlightUrl"),
            "senderEmail": outputs.get("senderEmail"),
            "functions": sorted(outputs.get("functions") or {}),
        }

    def flights(self) -> Any:
        return appdata.flights(self.outputs(), self.target)

    def bookings(self, destination: str | None = None, flight_date: str | None = None) -> Any:
        return appdata.bookings(
            self.outputs(), self.target, destination=destination, date=flight_date
        )

    def inbox(self, to: str | None = None) -> Any:
        try:  # templates live in the stack's region; before a deploy there are none anyway
            region = str(self.outputs().get("region") or DEFAULT_REGION)
        except ApiError:
            region = DEFAULT_REGION
        return inbox.fetch_emails(self.endpoint, to=to, region=region)

    def events(self, since_ms: int | None = None, limit: int = 100) -> Any:
        return appdata.events(self.outputs(), self.target, since_ms=since_ms, limit=limit)

    def logs(
        self,
        function: str,
        booking_id: str | None = None,
        since_ms: int | None = None,
        limit: int = 200,
    ) -> Any:
        known = self.outputs().get("functions") or {}
        if function not in known:
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                f"unknown function {function!r}; one of: {', '.join(sorted(known))}",
            )
        return appdata.function_logs(
            self.outputs(),
            self.target,
            function,
            booking_id=booking_id,
            since_ms=since_ms,
            limit=limit,
        )

    def book(self, body: bytes) -> tuple[int, Any]:
        """POST ``body`` to the app's real API; its status and answer, as the page shows them."""
        url = self.outputs().get("bookFlightUrl")
        if not url:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "the stack has no bookFlightUrl")
        try:
            answer = post_json(str(url), body, timeout=BOOK_TIMEOUT)
        except Unreachable as error:
            raise ApiError(
                HTTPStatus.BAD_GATEWAY, f"the app's API did not answer at {url}: {error.reason}"
            ) from None
        try:
            payload = answer.json()
        except ValueError:
            payload = {"message": answer.text}
        return answer.status, payload
