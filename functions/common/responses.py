"""API Gateway (REST, Lambda proxy) responses: always a JSON body with its content type."""

from __future__ import annotations

import json
from typing import Any

JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(status_code: int, body: dict[str, Any]) -> dict[str, Any]:
    """A proxy integration response; API Gateway passes status, headers and body through."""
    return {
        "statusCode": status_code,
        "headers": dict(JSON_HEADERS),
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def error(status_code: int, message: str, **extra: Any) -> dict[str, Any]:
    """An error response ``{"message": ..., **extra}``."""
    return json_response(status_code, {"message": message, **extra})
