"""DynamoDB requests reach DynamoDB Local over kept-alive sockets, with no HTTP library between.

LocalStack forwards every DynamoDB request to DynamoDB Local with rolo's ``Proxy``, which
rebuilds the request through werkzeug's ``EnvironBuilder`` and sends it with the ``requests``
library: about half of the CPU LocalStack spent on a ``GetItem`` (measured with yappi). Sending
it over urllib3 instead still cost 0.6 ms of CPU per request on this machine (``http.client``
writes each header on its own and reads the answer's through the ``email`` package), where the
socket's own work is 0.03 ms; DynamoDB takes 4 requests per booking. This module swaps the proxy
object of LocalStack's ``DynamodbServer`` (``server.proxy.proxy``, used by
``AwsRequestProxy.forward`` as ``proxy.forward(request, forward_path=...)``) for one that
writes the same method, path, query, headers and body in one ``sendall`` and reads the
backend's status, headers and body with the kit's own HTTP/1.1 reader
(:mod:`sandbox.threaded_server.http1`). What urllib3 did stays: the target percent-encoded
as it encoded it (:func:`wire_target`), ``Host`` and ``Accept-Encoding: identity`` when
missing, ``Content-Length`` always; a kept-alive socket the backend has closed is dropped
before it is reused, and nothing is retried (urllib3 ran with ``retries=False``). Not kept:
urllib3's own ``User-Agent`` for a request without one (LocalStack's clients send theirs).
Redirects are not followed (DynamoDB Local never sends one); LocalStack parses the answer,
so a chunked one needs no rewriting of its framing headers, which rolo's proxy does. Parsing
the response, errors and everything around it stay LocalStack's.

There is no seam for the proxy's transport (``AwsRequestProxy`` builds its ``Proxy`` without a
client argument), so ``DynamodbServer.__init__`` is wrapped; installed once at LocalStack's
start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
import re
import socket
import threading
from typing import IO, Any, NamedTuple, cast
from urllib.parse import quote, urlsplit

from sandbox.threaded_server.http1 import (
    MAX_LINE,
    ClientGone,
    HttpError,
    read_chunked,
    read_fields,
)

_HOP_BY_HOP = ("content-length", "transfer-encoding", "connection")
_SAFE_IN_PATH = "!$&'()*+,;=:@/%"  # RFC 3986 path characters, and escapes already made
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
CONNECT_TIMEOUT_S = 10.0
MAX_IDLE = 64


class BackendError(ConnectionError):
    """The backend closed the connection or answered something that is not HTTP/1.x."""


class Answer(NamedTuple):
    """A backend's answer; headers in the sender's casing, each name's values in order."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    reusable: bool


class _Connection:
    __slots__ = ("rfile", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = cast(IO[bytes], sock.makefile("rb", buffering=65536))

    def dropped(self) -> bool:
        """Whether the backend closed this idle connection (or sent what nobody asked for)."""
        try:
            self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            pass
        return True  # at its end, broken, or with bytes nobody asked for

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()


def wire_target(target: str) -> str:
    """The request target as urllib3 sends it: what may not stand in a path or a query
    percent-encoded (UTF-8), escapes already made kept in upper case, unless a stray ``%``
    makes urllib3 escape every ``%``. LocalStack hands over the path decoded, so a space, CR
    or LF must not reach the wire. (A ``#`` is escaped too, where urllib3 cut it off.)"""
    path, question, query = target.partition("?")
    parts = [(path, _SAFE_IN_PATH)] + ([(query, _SAFE_IN_PATH + "?")] if question else [])
    return "?".join(quote(_escapes_kept(part), safe=safe) for part, safe in parts)


def _escapes_kept(part: str) -> str:
    part, escapes = _ESCAPE.subn(lambda match: match.group(0).upper(), part)
    return part if escapes == part.count("%") else part.replace("%", "%25")


def read_answer(rfile: IO[bytes], method: str) -> Answer:
    """One answer, ``1xx`` interim ones skipped; :class:`BackendError` if it is not HTTP/1.x."""
    try:
        while True:
            line = rfile.readline(MAX_LINE + 1)
            if not line.endswith(b"\n"):
                raise BackendError("the backend closed the connection before its answer")
            version, _, rest = line.rstrip(b"\r\n").partition(b" ")
            code = rest[:3]
            if (
                version not in (b"HTTP/1.1", b"HTTP/1.0")
                or not code.isdigit()
                or rest[3:4] not in (b"", b" ")
                or int(code) < 100
            ):
                raise BackendError(f"the backend answered {line[:60]!r}, not HTTP/1.x")
            status = int(code)
            values, casing = read_fields(rfile)
            if status >= 200:
                break
        headers = [
            (casing[k].decode("latin-1"), v.decode("latin-1"))
            for k, vs in values.items()
            for v in vs
        ]
        tokens = b",".join(values.get(b"connection", [])).lower()
        reusable = b"close" not in tokens if version == b"HTTP/1.1" else b"keep-alive" in tokens
        encoding = values.get(b"transfer-encoding")
        lengths = values.get(b"content-length")
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif encoding and encoding[-1].lower() != b"identity":
            if encoding[-1].lower().rsplit(b",", 1)[-1].strip() != b"chunked":
                raise BackendError(f"the backend's transfer coding {encoding[-1]!r} is not chunked")
            with read_chunked(rfile) as chunks:
                body = chunks.read()
        elif lengths:
            if not lengths[-1].isdigit():
                raise BackendError(f"the backend's Content-Length {lengths[-1]!r} is not a number")
            length = int(lengths[-1])
            body = rfile.read(length)
            if len(body) < length:
                raise BackendError("the backend closed the connection inside its answer")
        else:
            body, reusable = rfile.read(), False  # delimited by the end of the connection
    except (HttpError, ClientGone, ValueError) as error:
        raise BackendError(f"unreadable answer from the backend: {error}") from error
    return Answer(status, headers, body, reusable)


class DirectProxy:
    """``Proxy.forward`` over kept-alive HTTP/1.1 sockets to one backend."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        self.base_url = base_url
        self._address = (url.hostname or "localhost", url.port or 80)
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False  # then a connection given back is closed, not kept

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
        answer = self.exchange(request.method, wire_target(path), out, restore_payload(request))
        return Response(answer.body, status=answer.status, headers=answer.headers)

    def exchange(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """Sends one request on an idle connection (or a new one) and reads its answer."""
        message = self._message(method, target, headers, body)
        conn = self._take()
        try:
            conn.sock.sendall(message)
            answer = read_answer(conn.rfile, method)
        except BaseException:
            conn.close()
            raise
        if answer.reusable:
            self._give_back(conn)
        else:
            conn.close()
        return answer

    def _message(self, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        lines = [f"{method} {target} HTTP/1.1"]
        for name, value in headers.items():
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
                raise ValueError(f"invalid header for the backend: {name!r}: {value!r}")
            lines.append(f"{name}: {value}")
        given = {name.lower() for name in headers}
        if "host" not in given:
            host, port = self._address
            lines.append(f"Host: {host}:{port}")
        if "accept-encoding" not in given:
            lines.append("Accept-Encoding: identity")
        lines.append(f"Content-Length: {len(body)}")  # urllib3: for any bytes body, even b""
        lines.append("\r\n")
        return "\r\n".join(lines).encode("latin-1") + body

    def _take(self) -> _Connection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.dropped():
                    return conn
                conn.close()
        sock = socket.create_connection(self._address, timeout=CONNECT_TIMEOUT_S)
        sock.settimeout(None)  # the backend's answer may take its time (urllib3: read=None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(sock)

    def _give_back(self, conn: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack.services.dynamodb import server

    original = server.DynamodbServer.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.proxy.proxy = DirectProxy(self.url)

    server.DynamodbServer.__init__ = __init__  # type: ignore[method-assign]
