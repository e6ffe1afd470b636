"""The kit's one HTTP helper: any answer is an :class:`Answer`, no answer is :class:`Unreachable`.

``urllib`` raises for a 4xx/5xx; for the kit those are answers to show or check, so they come
back like a 200. Stdlib only: the app's API, LocalStack's ``/_aws/`` pages and the console
are all plain HTTP on loopback.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RAW_KEEP = 200  # characters of a body that is not a JSON object, kept to show


class Unreachable(Exception):
    """Nothing answered: refused, no route, a bad URL, or the timeout passed."""

    def __init__(self, url: str, reason: BaseException, *, timed_out: bool = False) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason  # the underlying error (URLError's reason when it has one)
        self.timed_out = timed_out  # the answer did not come in time (not: could not connect)


@dataclass(frozen=True)
class Answer:
    status: int
    raw: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON (``{}`` when empty); ``ValueError`` when it is not JSON."""
        return json.loads(self.raw) if self.raw else {}

    @property
    def body(self) -> dict[str, Any]:
        """The JSON object answered; anything else as ``{"_raw": <its start>}``."""
        try:
            value = self.json()
        except ValueError:
            value = None
        return value if isinstance(value, dict) else {"_raw": self.text[:RAW_KEEP]}

    @property
    def message(self) -> str:
        """What the answer says: its JSON ``message``, or the start of a body that is not JSON."""
        body = self.body
        if "_raw" in body:
            return str(body["_raw"])
        return str(body.get("message") or "")


def request(
    url: str,
    data: bytes | None = None,
    *,
    method: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Answer:
    """One HTTP request; raises :class:`Unreachable` when nothing answers."""
    http = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:
            return Answer(response.status, response.read(), dict(response.headers.items()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), dict(error.headers.items()))
    except TimeoutError as error:
        raise Unreachable(url, error, timed_out=True) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise Unreachable(url, reason if isinstance(reason, BaseException) else error) from None


def post_json(url: str, body: Any, *, timeout: float = 60.0) -> Answer:
    """``POST`` ``body`` as JSON (bytes are sent as they are: hostile bodies, in tests)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request(
        url, data, method="POST", headers={"Content-Type": "application/json"}, timeout=timeout
    )
