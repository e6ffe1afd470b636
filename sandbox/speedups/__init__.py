"""Making the embedded LocalStack cheaper per request, without changing what it answers.

LocalStack runs as one Python process (one GIL) for every service of the sandbox, so each
millisecond of CPU it spends per request limits the whole app's throughput (see
docs/performance.md). Each module here removes one measured cost, isolated and saying what it
changes and why there was no seam for it; :mod:`sandbox.speedups.hooks` installs them when
LocalStack starts, through its published ``localstack.hooks.on_infra_start`` entry point.
Settings that need no code (in-memory internal clients) are in ``sandbox.runner``.

``SKYBOOK_SPEEDUPS=0`` leaves LocalStack as it is (to compare, or to rule them out);
``SKYBOOK_SPEEDUPS=-fast_uuid,-lambda_logs`` leaves out the ones named.
"""

from __future__ import annotations

SWITCH_ENV = "SKYBOOK_SPEEDUPS"
SPEEDUPS = (
    "http_server",
    "dynamodb_proxy",
    "moto_dispatch",
    "fast_uuid",
    "lambda_logs",
    "events_pool",
    "keepalive_timers",
)


def chosen(setting: str) -> list[str]:
    """The speedups a ``SKYBOOK_SPEEDUPS`` value asks for, in order."""
    setting = setting.strip()
    if setting in ("0", "off", "none"):
        return []
    left_out = {part.strip().lstrip("-") for part in setting.split(",") if part.strip()}
    return [name for name in SPEEDUPS if name not in left_out]
