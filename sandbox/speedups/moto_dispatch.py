"""moto looks up which actions a response class has once per class, not once per request.

LocalStack serves CloudWatch Logs, SES, STS and IAM with moto; for every such request moto's
``BaseResponse.call_action`` lists the class's functions with ``inspect.getmembers`` to check
that the action exists: about 0.3 ms per request, more than the action itself, for an answer
that never changes (the classes are not modified at run time). This module replaces
``method_names_from_class`` in ``moto.core.responses`` with a cached one returning the same
names (as a frozenset: the result is only tested with ``in``).

There is no seam for this; installed once at LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from moto.core import responses

    original = responses.method_names_from_class

    @functools.cache
    def method_names_from_class(clazz: Any) -> frozenset[str]:
        return frozenset(original(clazz))

    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]
