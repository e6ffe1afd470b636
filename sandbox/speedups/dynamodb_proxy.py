"""DynamoDB requests reach DynamoDB Local through one kept-alive urllib3 pool.

LocalStack forwards every DynamoDB request to DynamoDB Local with rolo's ``Proxy``, which
rebuilds the request through werkzeug's ``EnvironBuilder`` and sends it with the ``requests``
library: about half of the CPU LocalStack spends on a ``GetItem`` (measured with yappi; the
other half is parsing, the handler chain and serialising). This module swaps the proxy
object of LocalStack's ``DynamodbServer`` (``server.proxy.proxy``, used by
``AwsRequestProxy.forward`` as ``proxy.forward(request, forward_path=...)``) for one that sends
the same method, path, query, headers and body straight over urllib3 and returns the backend's
status, headers and body (without following redirects, which DynamoDB Local never sends;
LocalStack parses the answer, so a chunked one needs no rewriting of its framing headers, which
rolo's proxy does). Parsing the response, errors and everything around it stay
LocalStack's.

There is no seam for the proxy's transport (``AwsRequestProxy`` builds its ``Proxy`` without a
client argument), so ``DynamodbServer.__init__`` is wrapped; installed once at LocalStack's
start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = ("content-length", "transfer-encoding", "connection")


class DirectProxy:
    """``Proxy.forward`` over a urllib3 connection pool to one backend."""

    def __init__(self, base_url: str) -> None:
        import urllib3

        url = urlsplit(base_url)
        self.base_url = base_url
        self._pool = urllib3.HTTPConnectionPool(
            url.hostname or "localhost",
            url.port,
            maxsize=64,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=10.0, read=None),
        )

    def forward(self, request: Any, forward_path: str | None = None, headers: Any = None) -> Any:
        from rolo.request import get_raw_path, restore_payload
        from werkzeug import Response

        path = get_raw_path(request) if forward_path is None else forward_path
        path = "/" + path.lstrip("/")
        if request.query_string:
            path += "?" + request.query_string.decode("latin-1")
        out = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        if headers:
            out.update(headers)
        if client_ip := request.remote_addr:
            xff = request.headers.get("X-Forwarded-For")
            out["X-Forwarded-For"] = f"{xff}, {client_ip}" if xff else client_ip
        body = restore_payload(request)
        answer = self._pool.urlopen(
            request.method,
            path,
            body=body,
            headers=out,
            redirect=False,
            preload_content=True,
            decode_content=False,
            assert_same_host=False,
        )
        return Response(answer.data, status=answer.status, headers=list(answer.headers.items()))

    def close(self) -> None:
        self._pool.close()


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.services.dynamodb import server

    original = server.DynamodbServer.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.proxy.proxy = DirectProxy(self.url)

    server.DynamodbServer.__init__ = __init__  # type: ignore[method-assign]
