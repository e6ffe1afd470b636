"""Making the embedded LocalStack cheaper per request, without changing what it answers.

LocalStack runs as one Python process (one GIL) for every service of the sandbox, so each
millisecond of CPU it spends per request limits the whole app's throughput (see
docs/performance.md). Each module here removes one measured cost, isolated and saying what it
changes and why there was no seam for it; one, :mod:`sandbox.speedups.flow_first`, removes no
cost but decides who waits when the core is full (the API, so that the event flow keeps up).
:mod:`sandbox.speedups.hooks` installs them when LocalStack starts, through its published
``localstack.hooks.on_infra_start`` entry point.
Settings that need no code (in-memory internal clients) are in ``sandbox.runner``.

``SKYBOOK_SPEEDUPS=0`` installs none of them (to compare, or to rule them out);
``SKYBOOK_SPEEDUPS=-fast_uuid,-lambda_logs`` leaves out the ones named, and
``SKYBOOK_SPEEDUPS=http_server,dynamodb_proxy`` installs only those. (The executor's own
changes, ``sandbox/lambda_executor``, and ``IN_MEMORY_CLIENT`` have their own settings.)
"""

from __future__ import annotations

SWITCH_ENV = "SKYBOOK_SPEEDUPS"
SPEEDUPS = (
    "threaded_server",
    "http_server",
    "dynamodb_proxy",
    "moto_dispatch",
    "fast_uuid",
    "lambda_logs",
    "events_pool",
    "events_log_target",
    "internal_invoke",
    "user_agent",
    "internal_resources",
    "keepalive_timers",
    "flow_first",
)


def chosen(setting: str) -> tuple[list[str], list[str]]:
    """The speedups a ``SKYBOOK_SPEEDUPS`` value asks for, in order, and the names in it that
    are not speedups (to be warned about). ``-name`` leaves one out; a plain ``name`` list
    keeps only those."""
    setting = setting.strip()
    if setting in ("0", "off", "none"):
        return [], []
    parts = [part.strip() for part in setting.split(",") if part.strip()]
    unknown = [part for part in parts if part.lstrip("-") not in SPEEDUPS]
    left_out = {part[1:] for part in parts if part.startswith("-")}
    only = {part for part in parts if not part.startswith("-")}
    names = [name for name in SPEEDUPS if name not in left_out and (not only or name in only)]
    return names, unknown
