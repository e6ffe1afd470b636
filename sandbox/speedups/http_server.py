"""LocalStack's HTTP server (Twisted) stops parsing request bodies into form arguments nobody
reads, and stops formatting access-log lines nobody reads. (Only while Twisted serves: by
default :mod:`sandbox.speedups.threaded_server` replaces it.)

Every HTTP request to LocalStack passes through Twisted's reactor, one thread. Under load
(py-spy with ``--gil``, docs/performance.md) two of its per-request steps took an eighth of
LocalStack's whole CPU for nothing:

- For each POST Twisted parses the ``Content-Type`` header with the ``email`` package (9 %)
  to fill ``request.args`` from form bodies (the query protocol of SES, SQS, IAM, STS), which
  LocalStack never reads: it serves requests through WSGI, whose application reads the body
  itself. Twisted's ``Site`` has a setting for this, ``parsePOSTFormSubmission=False``, which
  LocalStack's ``TwistedGateway`` does not pass.
- For each request Twisted formats a combined-log-format line (4 %) for its access log,
  handed to Twisted's logger, which LocalStack never reads (its request log, ``LS_LOG``, is
  its own). ``TwistedGateway.log`` becomes a no-op.

Requests, answers and LocalStack's own logs stay the same. There is no seam (LocalStack
builds its ``TwistedGateway`` itself), so its ``__init__`` is wrapped; installed once at
LocalStack's start, before the server is built, by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from rolo.serving.twisted import TwistedGateway

    original = TwistedGateway.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False  # what Site(parsePOSTFormSubmission=False) sets

    def log(self: Any, request: Any) -> None:
        """No access-log line: nobody reads Twisted's log in LocalStack."""

    TwistedGateway.__init__ = __init__  # type: ignore[method-assign]
    TwistedGateway.log = log  # type: ignore[method-assign]
