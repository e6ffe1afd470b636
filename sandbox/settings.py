"""Number settings from the environment, read the same way by every part of the sandbox."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

LOG = logging.getLogger(__name__)

N = TypeVar("N", int, float)


def number_setting(name: str, default: N, parse: Callable[[str], N]) -> N:
    """``$name`` parsed, or ``default`` when unset or not a number (with a warning naming it)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError:
        LOG.warning("%s=%r is not a number: using %s", name, raw, default)
        return default
