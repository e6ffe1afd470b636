"""Installs the speedups when LocalStack starts (entry point ``localstack.hooks.on_infra_start``
in pyproject.toml), and DynamoDB Local's start off LocalStack's core (``sandbox.cpu_split``,
which has its own setting); imported only inside LocalStack's own environment."""

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
    cpu_split.install()
    names, unknown = chosen(os.environ.get(SWITCH_ENV, ""))
    if unknown:
        LOG.warning("%s: no speedup named %s", SWITCH_ENV, ", ".join(unknown))
    for name in names:
        importlib.import_module(f"sandbox.speedups.{name}").install()
    if len(names) < len(SPEEDUPS):
        LOG.warning("skybook speedups installed: %s", ", ".join(names) or "none")
