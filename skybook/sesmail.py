"""The mail a sandbox captured: LocalStack's ``/_aws/ses`` page, read and cleared.

Each message is as LocalStack keeps it (``Id``, ``Source``, ``Destination``, ``Template`` and
``TemplateData`` or ``Subject`` and ``Body``, ``Timestamp``, ``Region``); rendering a
templated one is :mod:`skybook.inbox`'s.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from skybook.errors import UserError
from skybook.httpclient import Unreachable, request

TIMEOUT = 10.0


class MailError(UserError):
    """The sandbox's mail page cannot be read; the message says why."""


def _page(endpoint: str) -> str:
    return f"{endpoint.rstrip('/')}/_aws/ses"


def _unreachable(endpoint: str) -> MailError:
    return MailError(f"no sandbox answers at {endpoint}: start one with ./scripts/up")


def messages(endpoint: str, *, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Every captured message, in the order LocalStack received them."""
    url = _page(endpoint)
    try:
        answer = request(url, timeout=timeout)
    except Unreachable:
        raise _unreachable(endpoint) from None
    try:
        found = answer.json()["messages"] if answer.status == 200 else None
    except (ValueError, KeyError, TypeError):
        found = None
    if not isinstance(found, list):
        raise MailError(f"{url} answered {answer.status}: is this a LocalStack sandbox?")
    return found


def recipients(message: Mapping[str, Any]) -> list[str]:
    """The ``To`` addresses of a captured message."""
    return list((message.get("Destination") or {}).get("ToAddresses") or [])


def addressed_to(endpoint: str, address: str) -> list[dict[str, Any]]:
    """The captured messages to ``address`` (compared without case, as mail is)."""
    wanted = address.lower()
    return [m for m in messages(endpoint) if wanted in (a.lower() for a in recipients(m))]


def clear(endpoint: str, ids: Sequence[str] | None = None) -> int:
    """Delete captured messages (all of them, or those ``ids``); return how many went."""
    base = _page(endpoint)
    if ids is None:
        ids = [str(m.get("Id")) for m in messages(endpoint)]
        urls = [base]
    else:
        urls = [f"{base}?{urllib.parse.urlencode({'id': i})}" for i in ids]
    for url in urls:
        try:
            answer = request(url, method="DELETE", timeout=TIMEOUT)
        except Unreachable:
            raise _unreachable(endpoint) from None
        if answer.status >= 300:
            raise MailError(f"{url} answered {answer.status}: is this a LocalStack sandbox?")
    return len(ids)
