"""The kit's hooks run when LocalStack starts (entry points ``localstack.hooks.on_infra_start``
in pyproject.toml): the speedups, and the CPU split's part inside LocalStack (which has its
own setting); imported only inside LocalStack's own environment."""

from __future__ import annotations

import importlib
import logging
import os

from localstack.runtime import hooks

from sandbox import cpu_split
from sandbox.speedups import SPEEDUPS, SWITCH_ENV, chosen

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def install_speedups() -> None:
    names, unknown = chosen(os.environ.get(SWITCH_ENV, ""))
    if unknown:
        LOG.warning("%s: no speedup named %s", SWITCH_ENV, ", ".join(unknown))
    for name in names:
        importlib.import_module(f"sandbox.speedups.{name}").install()
    if len(names) < len(SPEEDUPS):
        LOG.warning("skybook speedups installed: %s", ", ".join(names) or "none")


@hooks.on_infra_start()
def place_started_processes() -> None:
    """The processes LocalStack starts run off its core (``sandbox.cpu_split``)."""
    cpu_split.install()
