"""LocalStack's gateway served by :mod:`sandbox.threaded_server` instead of Twisted.

LocalStack picks its server by ``GATEWAY_SERVER`` when its runtime starts, after the
``on_infra_start`` hooks; this sets it to the kit's plugin unless the user chose a server.
"""

from __future__ import annotations

import functools
import os


@functools.cache
def install() -> None:
    if os.environ.get("GATEWAY_SERVER", "").strip():
        return  # the user's choice (twisted, hypercorn) wins
    from localstack import config

    from sandbox.threaded_server.plugin import NAME

    config.GATEWAY_SERVER = NAME
