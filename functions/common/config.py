"""Environment configuration, read once per cold start.

Each handler reads only the settings it needs through :meth:`Config.need`, so a missing
variable fails with a message naming it instead of a ``KeyError`` deep in a boto3 call.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_RECEIPT_TEMPLATE = "bookingReceiptTemplate"
DEFAULT_REJECTION_TEMPLATE = "bookingRejectedTemplate"
DEFAULT_SEATS_PER_FLIGHT = 2  # the tutorial's value
DEFAULT_DAYS_AHEAD = 0  # today only, like the tutorial


class ConfigError(RuntimeError):
    """A deployment problem: an environment variable is missing or malformed."""


@dataclass(frozen=True)
class Config:
    table_name: str
    event_bus_name: str
    sender_email: str
    receipt_template_name: str
    rejection_template_name: str
    seats_per_flight: int
    days_ahead: int
    fault_injection: str

    _ENV_NAMES = {
        "table_name": "TABLE_NAME",
        "event_bus_name": "EVENT_BUS_NAME",
        "sender_email": "SENDER_EMAIL",
    }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env

        def text(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        return cls(
            table_name=text("TABLE_NAME"),
            event_bus_name=text("EVENT_BUS_NAME"),
            sender_email=text("SENDER_EMAIL"),
            receipt_template_name=text("RECEIPT_TEMPLATE_NAME", DEFAULT_RECEIPT_TEMPLATE),
            rejection_template_name=text("REJECTION_TEMPLATE_NAME", DEFAULT_REJECTION_TEMPLATE),
            seats_per_flight=_int(text("SEATS_PER_FLIGHT"), "SEATS_PER_FLIGHT", 1, 10_000)
            if text("SEATS_PER_FLIGHT")
            else DEFAULT_SEATS_PER_FLIGHT,
            days_ahead=_int(text("DAYS_AHEAD"), "DAYS_AHEAD", 0, 366)
            if text("DAYS_AHEAD")
            else DEFAULT_DAYS_AHEAD,
            fault_injection=text("FAULT_INJECTION"),
        )

    def need(self, field: str) -> str:
        """Return a required string setting, or raise naming its environment variable."""
        value = getattr(self, field)
        if not value:
            raise ConfigError(
                f"environment variable {self._ENV_NAMES.get(field, field)} is not set"
            )
        return str(value)


def _int(raw: str, name: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"environment variable {name} must be in {low}..{high}, got {value}")
    return value


@functools.cache
def get() -> Config:
    """The configuration of this execution environment (cached; tests call ``get.cache_clear``)."""
    return Config.from_env()
