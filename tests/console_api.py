"""Calling the console's JSON API over HTTP, for its unit and end-to-end tests."""

from __future__ import annotations

import json
from typing import Any

from skybook.console import ConsoleServer
from skybook.httpclient import request


def call(
    server: ConsoleServer,
    path: str,
    body: dict[str, Any] | bytes | None = None,
    *,
    content_type: str = "application/json",
    host: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One console request (a POST when there is a body): status, parsed JSON (or text),
    headers."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {} if data is None else {"Content-Type": content_type}
    if host is not None:
        headers["Host"] = host
    answer = request(server.url.rstrip("/") + path, data, headers=headers, timeout=30)
    is_json = answer.headers.get("Content-Type", "").startswith("application/json")
    return answer.status, answer.json() if is_json else answer.text, dict(answer.headers)
