"""LocalStack looks for its own resources (``/_localstack/...``) only on paths that can hold one.

Every request LocalStack serves first passes ``LocalstackResourceHandler``, which matches the
path against the router of LocalStack's internal resources (health, info, init, ...): a
werkzeug ``bind`` and ``match`` that, for an AWS request, ends in a ``NotFound`` raised and
caught. That cost 0.1 ms of CPU per request, 0.7 ms per booking (docs/performance.md). When
every route of that router starts with ``/_localstack`` (all of LocalStack's do), a request
whose raw path does not can match none of them, and the handler would do nothing for it; this
module lets such a request go on at once. The routes are read again for each request (a few
string comparisons), so a plugin that adds a route elsewhere turns the shortcut off; paths
with ``//``, which werkzeug merges before matching, take the whole way.

There is no seam for it; ``LocalstackResourceHandler.__call__`` is wrapped. Installed once at
LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

PREFIX = "/_localstack"


def can_hold_a_resource(raw_path: str, routes: Iterable[str]) -> bool:
    """Whether a request's raw path may match one of the routes (paths of werkzeug rules)."""
    if raw_path.startswith(PREFIX) or "//" in raw_path:
        return True
    return any(route != PREFIX and not route.startswith(PREFIX + "/") for route in routes)


def shortcut(call: Callable[..., Any]) -> Callable[..., Any]:
    """``LocalstackResourceHandler.__call__`` that skips the router for other paths."""
    from rolo.request import get_raw_path

    @functools.wraps(call)
    def __call__(self: Any, chain: Any, context: Any, response: Any) -> Any:
        routes = (rule.rule for rule in self.resources.url_map.iter_rules())
        if can_hold_a_resource(get_raw_path(context.request), routes):
            return call(self, chain, context, response)
        return None

    return __call__


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.aws.handlers.internal import LocalstackResourceHandler

    LocalstackResourceHandler.__call__ = shortcut(LocalstackResourceHandler.__call__)  # type: ignore[method-assign]
