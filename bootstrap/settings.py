"""The knobs of one deployment, typed and in one place.

Everything that differs between the sandbox, a colleague's account and production is here;
the stack description (:mod:`bootstrap.stack`) reads nothing else.

A *deployment* is one stack at one stage: its resources are named ``<deployment>-<suffix>``,
where the deployment is the stack's name, plus ``-<stage>`` unless the stage is the default
(``prod``). So ``skybook`` at ``prod`` keeps the tutorial's names (``skybook-bus``,
``bookingReceiptTemplate``) and ``skybook`` at ``dev`` is ``skybook-dev-bus``,
``skybook-dev-bookingReceiptTemplate``: two stages share an account and region without sharing
anything but the SES identity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bootstrap.errors import DeployError
from bootstrap.models import STAGE_TAG_KEY, Throttle

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACK = "skybook"
DEFAULT_STAGE = "prod"
DEFAULT_SENDER_EMAIL = "bookings@skybook.local"
DEFAULT_THROTTLE = Throttle(rate=10, burst=20)
"""A demo stack's API on AWS: 10 requests a second sustained, 20 at once. Far above what
people booking by hand need, far below the 10,000 rps the account's APIs in a region share (so
one noisy API cannot starve the others), and it caps what a leaked URL can cost: each request
mails the address it names, so at most 10 mails a second leave with the sender's reputation."""
API_AUTH = ("none", "api-key", "iam")
MAX_DEPLOYMENT_NAME = 31  # <deployment>-sendBookingReceipt-role must fit IAM's 64 characters
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,30}$")
_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")
# What every service we tag accepts (IAM is the strictest): letters, digits, spaces, _.:/=+-@
_TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")
MAX_USER_TAGS = 48  # services allow 50 tags per resource; two are ours


def deployment_name(stack: str, stage: str | None = None) -> str:
    """The name of ``stack`` at ``stage`` (None: the default stage): its resources' prefix."""
    if stage is None or stage == DEFAULT_STAGE:
        return stack
    return f"{stack}-{stage}"


class SettingsError(DeployError, ValueError):
    """A setting has a value AWS would refuse; the message says which and why."""


def _check_tags(tags: tuple[tuple[str, str], ...]) -> None:
    if len(tags) > MAX_USER_TAGS:
        raise SettingsError(f"{len(tags)} tags given: AWS allows {MAX_USER_TAGS} besides ours")
    for key, value in tags:
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise SettingsError(
                f"tag {key}={value}: keys have 1 to 128 characters, values up to 256"
            )
        if key.lower().startswith(("aws:", "skybook:")):
            raise SettingsError(
                f"tag key {key!r} is reserved (aws: is AWS's, skybook: the deployer's): "
                "pick another key"
            )
        if not (_TAG_TEXT.match(key) and _TAG_TEXT.match(value)):
            raise SettingsError(
                f"tag {key}={value}: use letters, digits, spaces and _ . : / = + - @ only "
                "(what every tagged service accepts)"
            )


@dataclass(frozen=True)
class Settings:
    stack_name: str = DEFAULT_STACK
    schedule: str = "rate(1 day)"
    sender_email: str = DEFAULT_SENDER_EMAIL
    sender_domain: str | None = None
    seats_per_flight: int = 2  # the tutorial's value
    days_ahead: int = 0  # today only, like the tutorial
    stage: str = DEFAULT_STAGE
    functions_dir: Path = field(default_factory=lambda: REPO_ROOT / "functions")
    # A copy of the outputs, written by apply and outputs when given (they are read from
    # the stack itself otherwise: see bootstrap.outputs).
    outputs_file: Path | None = None
    event_log: bool = False  # a catch-all rule copying every bus event to CloudWatch Logs
    log_retention_days: int = 14
    keep_identity: bool = False  # destroy leaves the SES identity (e.g. a verified domain)
    # User tags, on every taggable resource next to ours (a mapping is accepted too).
    tags: tuple[tuple[str, str], ...] | Mapping[str, str] = ()  # a tuple once made
    throttle: Throttle | None = DEFAULT_THROTTLE  # the stage's; None: the account's limits
    api_auth: str = "none"  # "none", "api-key" (with a usage plan) or "iam" (SigV4)
    api_quota_per_day: int = 1000  # requests a day the API key may make (api-key only)

    def __post_init__(self) -> None:
        if not _STACK_NAME.match(self.stack_name):
            raise SettingsError(
                f"stack name {self.stack_name!r} is invalid: use a letter, then up to 30 "
                "letters, digits or '-'"
            )
        if not _STAGE.match(self.stage):
            raise SettingsError(
                f"stage {self.stage!r} is invalid: use a letter or digit, then up to 15 "
                "letters, digits, '-' or '_'"
            )
        if len(self.deployment) > MAX_DEPLOYMENT_NAME:
            raise SettingsError(
                f"stack {self.stack_name} at stage {self.stage} would name its resources "
                f"{self.deployment}-...: at most {MAX_DEPLOYMENT_NAME} characters fit (IAM "
                "role names), so shorten the stack or stage name"
            )
        tags = tuple(sorted(self.tags.items())) if isinstance(self.tags, Mapping) else self.tags
        object.__setattr__(self, "tags", tags)
        _check_tags(tags)
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
        if self.throttle is not None and not (
            0 < self.throttle.rate <= 10_000 and 1 <= self.throttle.burst <= 5_000
        ):
            raise SettingsError(
                f"throttle {self.throttle} is invalid: the rate is above 0 and at most 10000 "
                "requests a second, the burst 1 to 5000 (API Gateway's account limits)"
            )
        if self.api_auth not in API_AUTH:
            raise SettingsError(
                f"API auth {self.api_auth!r} is invalid: use one of {', '.join(API_AUTH)}"
            )
        if self.api_quota_per_day < 1:
            raise SettingsError("the API key's daily quota must be at least 1 request")

    @property
    def deployment(self) -> str:
        """What names and owns this stack at this stage: ``<stack>`` at the default stage,
        ``<stack>-<stage>`` at any other."""
        return deployment_name(self.stack_name, self.stage)

    @property
    def identity(self) -> str:
        """The SES identity to verify: the domain if one is given, else the sender address."""
        return self.sender_domain or self.sender_email

    def name(self, suffix: str) -> str:
        """A resource name of this deployment: ``<deployment>-<suffix>``."""
        return f"{self.deployment}-{suffix}"

    def template_name(self, base: str) -> str:
        """An SES template's name (SES names are account-wide): the tutorial's own name for
        the default stack and stage, ``<deployment>-<base>`` for any other."""
        if (self.stack_name, self.stage) == (DEFAULT_STACK, DEFAULT_STAGE):
            return base
        return self.name(base)

    def resource_tags(self) -> dict[str, str]:
        """The tags besides the ownership tag (``skybook:stack``) every taggable resource
        gets: the user's and the stage."""
        return {**dict(self.tags), STAGE_TAG_KEY: self.stage}

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
