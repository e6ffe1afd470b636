"""Run by a Python with botocore (tests/sandbox/test_user_agent_parity.py): the ``User-Agent``
headers botocore builds for the same calls with its own ``to_string`` and with
``sandbox.speedups.user_agent``'s, for clients of several configs, with and without a
request feature, each call made twice; prints them as JSON with botocore's version and how
often the cached builder had to build.

Usage: ``python user_agent_side_by_side.py`` (no input).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo: sandbox.speedups

import botocore
import botocore.session
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.context import get_context, start_as_current_context
from botocore.useragent import UserAgentString

from sandbox.speedups import user_agent

CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "app id and adaptive retries": {"user_agent_appid": "app-1", "retries": {"mode": "adaptive"}},
    "extra": {"user_agent_extra": "extra/1"},
    "legacy user agent": {"user_agent": "legacy/2"},
}
FEATURES = [None, "W"]


class _EmptyBody:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b"{}"


def agents_of_a_call(client: Any, feature: str | None) -> list[str]:
    """The User-Agent headers of one call as sent (made, then rebuilt), unsent."""
    seen: list[str] = []

    def answer(request: Any, **_: Any) -> Any:
        seen.append(request.headers["User-Agent"].decode())
        return AWSResponse(request.url, 200, HTTPHeaders(), _EmptyBody())

    client.meta.events.register_first("before-send.*.*", answer)
    try:
        with start_as_current_context():
            context = get_context()
            if feature and context is not None:
                context.features.add(feature)
            client.list_functions()
    finally:
        client.meta.events.unregister("before-send.*.*", answer)
    return seen


def clients() -> dict[str, Any]:
    session = botocore.session.get_session()
    return {
        name: session.create_client(
            "lambda",
            "us-east-1",
            config=Config(**settings),
            aws_access_key_id="k",
            aws_secret_access_key="s",
        )
        for name, settings in CONFIGS.items()
    }


def all_calls(made: dict[str, Any]) -> dict[str, list[str]]:
    return {
        f"{name}, feature {feature}": agents_of_a_call(client, feature)
        for name, client in made.items()
        for feature in FEATURES
    }


def main() -> None:
    original = UserAgentString.to_string
    builds: list[int] = []

    def counted(self: Any) -> str:
        builds.append(1)
        return original(self)

    own = all_calls(clients())
    UserAgentString.to_string = user_agent.cached(counted)  # type: ignore[method-assign,assignment]
    made = clients()
    first = all_calls(made)
    first_builds = len(builds)
    second = all_calls(made)
    print(
        json.dumps(
            {
                "botocore": botocore.__version__,
                "own": own,
                "cached": [first, second],
                "builds": [first_builds, len(builds) - first_builds],
            }
        )
    )


if __name__ == "__main__":
    main()
