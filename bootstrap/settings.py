"""The knobs of one deployment, typed and in one place.

Everything that differs between the sandbox, a colleague's account and production is here;
the stack description (:mod:`bootstrap.stack`) reads nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from bootstrap.errors import DeployError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SENDER_EMAIL = "bookings@skybook.local"
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,30}$")


class SettingsError(DeployError, ValueError):
    """A setting has a value AWS would refuse; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    stack_name: str = "skybook"
    schedule: str = "rate(1 day)"
    sender_email: str = DEFAULT_SENDER_EMAIL
    sender_domain: str | None = None
    seats_per_flight: int = 2  # the tutorial's value
    days_ahead: int = 0  # today only, like the tutorial
    stage: str = "prod"
    functions_dir: Path = field(default_factory=lambda: REPO_ROOT / "functions")
    outputs_file: Path = field(default_factory=lambda: Path(".skybook/outputs.json"))
    event_log: bool = False  # a catch-all rule copying every bus event to CloudWatch Logs
    log_retention_days: int = 14
    keep_identity: bool = False  # destroy leaves the SES identity (e.g. a verified domain)

    def __post_init__(self) -> None:
        if not _STACK_NAME.match(self.stack_name):
            raise SettingsError(
                f"stack name {self.stack_name!r} is invalid: use a letter, then up to 30 "
                "letters, digits or '-'"
            )
        if self.sender_domain and self.sender_email == DEFAULT_SENDER_EMAIL:
            object.__setattr__(self, "sender_email", f"bookings@{self.sender_domain}")
        if "@" not in self.sender_email:
            raise SettingsError(f"sender email {self.sender_email!r} is not an email address")
        if self.sender_domain and not self.sender_email.endswith("@" + self.sender_domain):
            raise SettingsError(
                f"sender email {self.sender_email} is not in the sender domain "
                f"{self.sender_domain}: SES would refuse to send from it"
            )
        if not (self.schedule.startswith("rate(") or self.schedule.startswith("cron(")):
            raise SettingsError(
                f"schedule {self.schedule!r} is invalid: use rate(...) or cron(...)"
            )

    @property
    def identity(self) -> str:
        """The SES identity to verify: the domain if one is given, else the sender address."""
        return self.sender_domain or self.sender_email

    def name(self, suffix: str) -> str:
        """A resource name of this stack: ``<stack>-<suffix>``."""
        return f"{self.stack_name}-{suffix}"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
