"""botocore builds each client's ``User-Agent`` string once per set of inputs, not twice a call.

Every request LocalStack makes through a botocore client (API Gateway and EventBridge
invoking functions: 2.5 per booking, each in memory) builds the same ``User-Agent`` string
twice: when the request is made, and again in ``rebuild_and_replace_user_agent_handler``
once the request's features are known. Each build makes and sanitises about 40 components
character by character: 29 % of the CPU of an in-memory ``lambda.Invoke`` through a botocore
client in a profile (docs/performance.md). The string depends only on the builder's session
and client settings and on the feature ids of the client and of the request's context, so
this module keeps, per builder, the string built for each set of them and returns it again.
A feature set is the same set in whatever order it was filled, and botocore joins it in
set order anyway: the string is the one botocore builds.

There is no seam for it; ``UserAgentString.to_string`` is wrapped. Installed once at
LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any

_CACHE = "_skybook_built"  # per builder; botocore's copies share it: all they differ in is keyed
_MAX_ENTRIES = 64  # a key per distinct feature set: a handful in practice


def _config_settings(config: Any) -> Hashable:
    """What ``to_string`` reads of a client's config, read each time (a config changed in
    place gets its new string)."""
    if config is None:
        return None
    supplied = (
        config._supplied_user_agent
        if hasattr(config, "_supplied_user_agent")
        else config.user_agent
    )
    retries = config.retries
    return (
        supplied,
        bool(retries),
        retries.get("mode") if retries else None,
        config.endpoint_discovery_enabled,
        config.user_agent_appid,
        config.user_agent_extra,
    )


def _inputs(builder: Any) -> Hashable:
    from botocore.context import get_context

    context = get_context()
    return (
        frozenset(builder._client_features or ()),
        frozenset(() if context is None else context.features),
        _config_settings(builder._client_config),
        builder._session_user_agent_name,
        builder._session_user_agent_version,
        builder._session_user_agent_extra,
        builder._execution_env,
    )


def cached(to_string: Callable[[Any], str]) -> Callable[[Any], str]:
    """``UserAgentString.to_string`` that builds once per builder and inputs."""

    @functools.wraps(to_string)
    def wrapper(self: Any) -> str:
        built: dict[Hashable, str] | None = self.__dict__.get(_CACHE)
        if built is None:
            built = self.__dict__[_CACHE] = {}
        key = _inputs(self)
        string = built.get(key)
        if string is None:
            string = to_string(self)
            if len(built) >= _MAX_ENTRIES:
                built.clear()
            built[key] = string
        return string

    return wrapper


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from botocore.useragent import UserAgentString

    UserAgentString.to_string = cached(UserAgentString.to_string)  # type: ignore[method-assign,assignment]
