"""What a load run is aimed at: a deployed app on this machine's loopback, nothing else."""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Any

from skybook.appdata import AppView, local
from skybook.errors import UserError


class LoadError(UserError):
    """A problem the user can fix (bad target, bad options); printed as one line."""


def require_loopback(url: str) -> None:
    """Refuse any target that is not on this machine's loopback interface."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise LoadError(f"refusing to send load to {url}: only loopback (127.0.0.0/8, ::1) targets")


def aim(endpoint: str, outputs: dict[str, Any]) -> AppView:
    """The deployed app at ``endpoint``, once it and its API are known to be on loopback."""
    require_loopback(endpoint)
    require_loopback(book_url(outputs))
    return AppView(local(endpoint, outputs), outputs)


def book_url(outputs: dict[str, Any]) -> str:
    return str(outputs["bookFlightUrl"])
