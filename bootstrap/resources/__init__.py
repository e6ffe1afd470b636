"""Every kind of resource the deployer knows, one module each (like LocalStack's
CloudFormation resource providers): its model, what exists of one, and how to read, diff,
create, update, find and delete it (:class:`~bootstrap.resources.base.Kind`).

A module of this package that defines ``KIND`` is a kind: the planner, executor and sweeper
find it here by the model's ``kind`` name, so adding a kind is one module plus its line in
:mod:`bootstrap.stack`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from bootstrap.resources.base import Kind


def _discover() -> dict[str, Kind[Any, Any]]:
    found: dict[str, Kind[Any, Any]] = {}
    for module in pkgutil.iter_modules(__path__):
        kind = getattr(importlib.import_module(f"{__name__}.{module.name}"), "KIND", None)
        if isinstance(kind, Kind):
            found[kind.name] = kind
    return found


KINDS = _discover()


def kind_of(name: str) -> Kind[Any, Any]:
    """The kind called ``name`` (a model's ``kind``, a step's ``kind``)."""
    return KINDS[name]


def deletion_order() -> list[Kind[Any, Any]]:
    """Every kind, those deleted first first."""
    return sorted(KINDS.values(), key=lambda kind: kind.deletion_rank)
