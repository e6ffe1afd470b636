"""Small helpers the kinds of resources share: error codes, tags, policies, pages."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import botocore.exceptions

T = TypeVar("T")

NOT_FOUND = {
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NotFoundException",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "TemplateDoesNotExist",
}


def error_code(error: BaseException) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def missing(call: Callable[[], T]) -> T | None:
    """The call's result, or None when AWS says the thing does not exist."""
    try:
        return call()
    except botocore.exceptions.ClientError as error:
        if error_code(error) in NOT_FOUND:
            return None
        raise


def tags_as_map(tags: Any) -> dict[str, str]:
    """Tags as a dict, whether the service answers with a dict or a Key/Value list."""
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t["Key"]): str(t["Value"]) for t in tags or []}


def parse_policy(document: Any) -> dict[str, Any] | None:
    """A policy document as a dict, from a dict, JSON text or IAM's URL-encoded JSON."""
    if document is None or document == "":
        return None
    if isinstance(document, dict):
        return document
    text = str(document)
    if text.startswith("%7B") or text.startswith("%7b"):
        text = urllib.parse.unquote(text)
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _normal(value: Any, in_list: bool = False) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normal(v, in_list=True) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, str) and not in_list:
        return [value]  # AWS keeps "x" and ["x"] apart in text but they mean the same
    return value


def normalize_policy(document: Any) -> Any:
    """A canonical form of a policy, so equal meaning compares equal."""
    parsed = parse_policy(document)
    if parsed is None:
        return None
    statements = parsed.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    normal = []
    for statement in statements:
        normal.append(
            {k: (v if k in ("Sid", "Effect") else _normal(v)) for k, v in statement.items()}
        )
    normal.sort(key=lambda s: json.dumps(s, sort_keys=True))
    return {"Version": parsed.get("Version"), "Statement": normal}


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])
