"""HTTP/1.x on a blocking socket: a request in, as the WSGI environment Twisted gives
LocalStack; the answer out, framed as Twisted frames it.

The environment matches ``twisted.web.wsgi`` plus rolo's additions (``rolo.headers`` with the
client's header casing, ``RAW_URI``, ``REQUEST_URI``, the absolute-form fix), so LocalStack's
handlers see what they see behind Twisted. Bodies are read whole before the handler runs, as
Twisted does (kept in memory up to 1 MiB, then in a temporary file).
"""

from __future__ import annotations

import io
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from typing import IO, Any
from urllib.parse import unquote_to_bytes, urlparse

MAX_LINE = 65536
MAX_HEAD = 256 * 1024
MAX_HEADERS = 500
IN_MEMORY_BODY = 1024 * 1024
READ_SIZE = 256 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110 5.1)
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class HttpError(Exception):
    """A request the server answers itself, mostly a refusal: ``status``, the message as the
    body, and the connection closed."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason

    def answer(self) -> bytes:
        body = f"{self}\n".encode() if str(self) else b""
        return (
            f"HTTP/1.1 {self.status} {self.reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("latin-1") + body


HTTP1_ONLY = (
    "skybook's gateway server speaks HTTP/1.x only; for HTTP/2 start the sandbox "
    "with SKYBOOK_SPEEDUPS=-threaded_server (LocalStack's Twisted server)"
)


class Http2Refused(HttpError):
    """An HTTP/2 client with prior knowledge (the ``PRI *`` preface) cannot read an HTTP/1.1
    answer: it gets HTTP/2's own refusal instead, the server's SETTINGS and a GOAWAY with
    HTTP_1_1_REQUIRED and the message as its debug data (RFC 9113 6.8, 7)."""

    def __init__(self) -> None:
        super().__init__(505, "HTTP Version Not Supported", HTTP1_ONLY)

    def answer(self) -> bytes:
        debug = HTTP1_ONLY.encode()
        settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # empty SETTINGS, stream 0
        payload = b"\x00\x00\x00\x00" + b"\x00\x00\x00\x0d" + debug  # last stream 0, code 0xd
        return settings + len(payload).to_bytes(3, "big") + b"\x07\x00\x00\x00\x00\x00" + payload


class ClientGone(Exception):
    """The client closed the connection in the middle of a request."""


@dataclass(slots=True)
class RequestHead:
    method: bytes
    target: bytes
    version: bytes
    values: dict[bytes, list[bytes]]  # lower-case name -> values, in the order received
    casing: dict[bytes, bytes]  # lower-case name -> the client's casing (the last seen)

    def get(self, name: bytes) -> bytes | None:
        """The last value of a header (``name`` in lower case), as Twisted's ``getHeader``."""
        values = self.values.get(name)
        return values[-1] if values else None

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return [(self.casing[name], v) for name, values in self.values.items() for v in values]

    def wants_keep_alive(self) -> bool:
        tokens = (self.get(b"connection") or b"").lower()
        if self.version == b"HTTP/1.1":
            return b"close" not in tokens
        return b"keep-alive" in tokens


def _line(rfile: IO[bytes], too_long: HttpError) -> bytes:
    """One line with its end; b"" at the end of the stream."""
    line = rfile.readline(MAX_LINE + 1)
    if line and not line.endswith(b"\n"):
        if len(line) > MAX_LINE:
            raise too_long  # never cut a long line into two (a header smuggled in its tail)
        raise ClientGone  # closed in the middle of a line
    return line


def read_head(rfile: IO[bytes]) -> RequestHead | None:
    """The next request's line and headers; None when the client closed between requests."""
    long_target = HttpError(414, "URI Too Long", "request line longer than 64 KiB")
    line = _line(rfile, long_target)
    while line in (b"\r\n", b"\n"):  # RFC 9112 2.2: empty lines before a request are ignored
        line = _line(rfile, long_target)
    if not line:
        return None
    parts = line.rstrip(b"\r\n").split(b" ")
    if len(parts) != 3 or not parts[0] or not parts[1] or not line.isascii():
        raise HttpError(400, "Bad Request", "malformed request line")
    method, target, version = parts
    if (method, target, version) == (b"PRI", b"*", b"HTTP/2.0"):
        raise Http2Refused
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise HttpError(505, "HTTP Version Not Supported", HTTP1_ONLY)
    values, casing = read_fields(rfile)
    return RequestHead(method, target, version, values, casing)


def read_fields(rfile: IO[bytes]) -> tuple[dict[bytes, list[bytes]], dict[bytes, bytes]]:
    """The header lines up to the empty one: lower-case name -> values in the order received,
    and lower-case name -> the sender's casing (the last seen)."""
    values: dict[bytes, list[bytes]] = {}
    casing: dict[bytes, bytes] = {}
    size = 0
    too_large = HttpError(431, "Request Header Fields Too Large", "request headers too large")
    last: list[bytes] | None = None
    while True:
        line = _line(rfile, too_large)
        if line in (b"\r\n", b"\n"):
            return values, casing
        if not line:
            raise ClientGone
        size += len(line)
        if size > MAX_HEAD or len(casing) > MAX_HEADERS:
            raise too_large
        if line[0] in b" \t" and last is not None:  # obsolete folding: joined, as Twisted does
            last[-1] += b" " + line.strip()
            continue
        name, colon, value = line.partition(b":")
        value = value.strip()
        if not colon or not _TOKEN.fullmatch(name) or b"\0" in value or b"\r" in value:
            raise HttpError(400, "Bad Request", f"malformed header line {line[:60]!r}")
        lower = name.lower()
        casing[lower] = name
        last = values.setdefault(lower, [])
        last.append(value)


def read_body(head: RequestHead, rfile: IO[bytes], send: Callable[[bytes], Any]) -> IO[bytes]:
    """The request's body, whole (chunked transfer decoded); ``100 Continue`` first if asked."""
    encoding = head.get(b"transfer-encoding")
    if encoding is not None and encoding.lower() == b"identity":
        encoding = None
    lengths = head.values.get(b"content-length", [])
    if len(lengths) > 1 or (lengths and (encoding is not None or not lengths[0].isdigit())):
        raise HttpError(400, "Bad Request", "invalid Content-Length")  # RFC 9112 6.3
    if encoding is not None and encoding.lower().rsplit(b",", 1)[-1].strip() != b"chunked":
        raise HttpError(501, "Not Implemented", f"transfer encoding {encoding!r}")
    if head.version == b"HTTP/1.1" and (head.get(b"expect") or b"").lower() == b"100-continue":
        send(CONTINUE)
    if encoding is not None:
        return read_chunked(rfile)
    if not lengths:
        return io.BytesIO()
    length = int(lengths[0])
    if length <= IN_MEMORY_BODY:
        data = rfile.read(length)
        if len(data) < length:
            raise ClientGone
        return io.BytesIO(data)
    body = _spooled()
    _copy(rfile, body, length)
    body.seek(0)
    return body


def _spooled() -> IO[bytes]:
    """In memory up to 1 MiB, then a temporary file (Twisted: the same at 100 KB)."""
    return tempfile.SpooledTemporaryFile(IN_MEMORY_BODY)  # the server closes it


def read_chunked(rfile: IO[bytes]) -> IO[bytes]:
    """A chunked body, decoded (trailers dropped)."""
    body = _spooled()
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if not line:
            raise ClientGone
        digits = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(digits):
            raise HttpError(400, "Bad Request", "malformed chunk size")
        size = int(digits, 16)
        if size == 0:
            break
        _copy(rfile, body, size)
        if rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n"):
            raise HttpError(400, "Bad Request", "chunk not followed by CRLF")
    while rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):  # trailers: dropped
        pass
    body.seek(0)
    return body


def _copy(rfile: IO[bytes], out: IO[bytes], length: int) -> None:
    while length:
        data = rfile.read(min(length, READ_SIZE))
        if not data:
            raise ClientGone
        out.write(data)
        length -= len(data)


def _latin1(value: bytes) -> str:
    return value.decode("latin-1")


def host_name(host_header: bytes | None, local_host: str) -> str:
    """``SERVER_NAME``: the Host header without its port (Twisted's ``getRequestHostname``)."""
    if not host_header:
        return local_host
    if host_header.startswith(b"["):  # an IPv6 address: without its brackets
        return _latin1(host_header[1 : host_header.find(b"]")])
    name, _, port = host_header.rpartition(b":")
    return _latin1(name if name and port.isdigit() else host_header)


def wsgi_environ(
    head: RequestHead,
    body: IO[bytes],
    local: tuple[str, int],
    client: tuple[str, int],
    secure: bool,
) -> dict[str, Any]:
    path, _, query = head.target.partition(b"?")
    uri = head.target.decode("ascii")  # read_head let only ASCII through
    if path.startswith(b"/"):
        path_info = _latin1(unquote_to_bytes(path))
    else:  # absolute form (a request through a proxy): rolo's fix of Twisted's PATH_INFO
        try:
            path_info = urlparse(path).path.decode("utf-8")
        except ValueError:  # UnicodeDecodeError too
            raise HttpError(400, "Bad Request", "malformed absolute request target") from None
    environ: dict[str, Any] = {
        "REQUEST_METHOD": _latin1(head.method),
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": _latin1(query),
        "CONTENT_TYPE": _latin1(head.get(b"content-type") or b""),
        "CONTENT_LENGTH": _latin1(head.get(b"content-length") or b""),
        "SERVER_NAME": host_name(head.get(b"host"), local[0]),
        "SERVER_PORT": str(local[1]),
        "SERVER_PROTOCOL": _latin1(head.version),
        "REQUEST_URI": uri,
        "RAW_URI": uri,
        "rolo.headers": head.raw_headers(),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if secure else "http",
        "wsgi.run_once": False,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.errors": io.StringIO(),
        "wsgi.input": body,
        "wsgi.input_terminated": True,
    }
    for name, values in head.values.items():
        key = "HTTP_" + _latin1(head.casing[name]).upper().replace("-", "_")
        environ[key] = _latin1(b",".join(values))
    return environ


_date_cache: tuple[int, str] = (0, "")


def http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class Answer:
    """Writes one WSGI answer: status and headers with the first bytes of the body (one send
    for most answers), chunked when the length is unknown, nothing of the body for HEAD, 1xx,
    204 and 304. ``keep_alive`` says afterwards whether the connection can take another
    request."""

    def __init__(self, send: Callable[[bytes], Any], head: RequestHead) -> None:
        self._send = send
        self._method = head.method
        self._version = head.version
        self.keep_alive = head.wants_keep_alive()
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self._chunked = False
        self._bodyless = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """WSGI's ``start_response``."""
        if exc_info is not None and self.head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self.write

    def _head(self) -> bytes:
        code = int(self.status[:3])
        self._bodyless = self._method == b"HEAD" or code < 200 or code in (204, 304)
        headers = list(self.headers)
        names = {name.lower() for name, _ in headers}
        if "content-length" not in names and not self._bodyless:
            if self._version == b"HTTP/1.1":
                self._chunked = True
                if "transfer-encoding" not in names:
                    headers.append(("Transfer-Encoding", "chunked"))
            else:
                self.keep_alive = False  # the end of the connection ends the body
        if "connection" in names:
            value = next(v for n, v in headers if n.lower() == "connection")
            if not self.keep_alive:  # the application's keep-alive cannot hold: say so
                headers = [(n, "close" if n.lower() == "connection" else v) for n, v in headers]
            self.keep_alive = self.keep_alive and "close" not in value.lower()
        elif not self.keep_alive:
            headers.append(("Connection", "close"))
        elif self._version == b"HTTP/1.0":
            headers.append(("Connection", "keep-alive"))
        if "date" not in names:
            headers.append(("Date", http_date()))
        lines = [f"{_latin1(self._version)} {self.status}\r\n"]
        for name, value in headers:
            if "\n" in value or "\r" in value:  # no header injection (Twisted does the same)
                value = value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
            lines.append(f"{name}: {value}\r\n")
        lines.append("\r\n")
        encoded = "".join(lines).encode("latin-1")  # may fail: then a 500 can still go out
        self.head_sent = True
        return encoded

    def _framed(self, data: bytes) -> bytes:
        if self._bodyless or not data:
            return b""
        if self._chunked:
            return b"%x\r\n%s\r\n" % (len(data), data)
        return data

    def write(self, data: bytes) -> None:
        if not self.status:
            raise AssertionError("write() before start_response()")
        if not self.head_sent:
            head = self._head()
            self._send(head + self._framed(data))
        elif data and not self._bodyless:
            self._send(self._framed(data))

    def finish(self) -> None:
        head = b"" if self.head_sent else self._head()
        end = b"0\r\n\r\n" if self._chunked else b""
        if head or end:
            self._send(head + end)

    def send_all(self, body: Iterable[bytes]) -> None:
        """Iterates a WSGI application's result and closes it, as PEP 3333 asks."""
        try:
            for data in body:
                if data:
                    self.write(data)
            self.finish()
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
