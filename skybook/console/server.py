"""The console's HTTP server: the static page and a small JSON API, on 127.0.0.1 only.

Only HTTP here (routes, query arguments, headers, the loopback and Host checks); what each
route answers comes from :class:`skybook.console.data.ConsoleData`. Stdlib only, so the
console starts wherever the kit runs.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from skybook.console.data import ConsoleData
from skybook.console.errors import ApiError, ConsoleError
from skybook.errors import UserError

DEFAULT_PORT = 4580
PORT_ENV = "SKYBOOK_CONSOLE_PORT"
HOST = "127.0.0.1"  # never a wider address: the console can book flights
STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# The email preview is a srcdoc iframe, which inherits this policy: its inline <style> must
# apply, but nothing may load from the network (the console works offline).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def console_port(explicit: int | None = None) -> int:
    """The port: ``explicit`` (a flag), else ``$SKYBOOK_CONSOLE_PORT``, else 4580; 0 = any."""
    value: int
    if explicit is not None:
        value = explicit
    else:
        raw = os.environ.get(PORT_ENV, "").strip()
        if not raw:
            return DEFAULT_PORT
        try:
            value = int(raw)
        except ValueError:
            raise ConsoleError(f"{PORT_ENV}={raw!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise ConsoleError(f"console port {value} is out of range (0-65535)")
    return value


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot encode by itself, as the app data modules may return it."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _int_arg(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be an integer") from None
    if value < 0:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{name} must not be negative")
    return value


Route = Callable[["_Handler", dict[str, str]], tuple[int, Any]]


def _get_info(h: _Handler, q: dict[str, str]) -> tuple[int, Any]:
    return 200, h.data.info()


def _get_flights(h: _Handler, q: dict[str, str]) -> tuple[int, Any]:
    return 200, {"flights": h.data.flights()}


def _get_bookings(h: _Handler, q: dict[str, str]) -> tuple[int, Any]:
    bookings = h.data.bookings(q.get("destination") or None, q.get("date") or None)
    return 200, {"bookings": bookings}


def _get_inbox(h: _Handler, q: dict[str, str]) -> tuple[int, Any]:
    emails = list(h.data.inbox(q.get("to") or None))
    limit = min(_int_arg(q, "limit") or 50, 1000)  # the newest: each one is rendered HTML
    return 200, {"emails": emails[-limit:], "total": len(emails)}


def _get_events(h: _Handler, q: dict[str, str]) -> tuple[int, Any]:
    limit = _int_arg(q, "limit") or 100
    return 200, {"events": h.data.events(_int_arg(q, "since"), min(limit, 1000))}


def _get_logs(h: _Handler, q: dict[str, str]) -> tuple[int, Any]:
    function = q.get("function")
    if not function:
        raise ApiError(HTTPStatus.BAD_REQUEST, "function is required, e.g. ?function=bookFlight")
    limit = min(_int_arg(q, "limit") or 200, 2000)
    lines = h.data.logs(function, q.get("booking") or None, _int_arg(q, "since"), limit)
    return 200, {"function": function, "booking": q.get("booking") or None, "lines": lines}


def _post_book(h: _Handler, q: dict[str, str]) -> tuple[int, Any]:
    content_type = h.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        # Also what keeps a cross-site form from booking: it cannot send JSON.
        raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the booking as application/json")
    try:
        length = int(h.headers.get("Content-Length") or 0)
    except ValueError:
        raise ApiError(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
    if length < 0:
        raise ApiError(HTTPStatus.BAD_REQUEST, "bad Content-Length")
    if length > MAX_BODY:
        raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "the booking is too large")
    return h.data.book(h.rfile.read(length))


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/info"): _get_info,
    ("GET", "/api/flights"): _get_flights,
    ("GET", "/api/bookings"): _get_bookings,
    ("GET", "/api/inbox"): _get_inbox,
    ("GET", "/api/events"): _get_events,
    ("GET", "/api/logs"): _get_logs,
    ("POST", "/api/book"): _post_book,
}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    data: ConsoleData
    verbose: bool = False


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive: the page polls
    server_version = "skybook-console"
    sys_version = ""

    @property
    def data(self) -> ConsoleData:
        return self.server.data

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            self._check_host()
            if method == "GET" and url.path in ("/", "/index.html"):
                return self._static("index.html")
            if method == "GET" and url.path.startswith("/static/"):
                return self._static(url.path.removeprefix("/static/"))
            route = ROUTES.get((method, url.path))
            if route is None:
                known = any(path == url.path for _, path in ROUTES)
                raise ApiError(
                    HTTPStatus.METHOD_NOT_ALLOWED if known else HTTPStatus.NOT_FOUND,
                    f"{method} {url.path} is not part of the console API",
                )
            status, payload = route(self, query)
            self._json(status, payload)
        except ApiError as error:
            # An unread request body would be parsed as the next request: end the connection.
            self.close_connection = True
            self._json(error.status, {"error": error.message})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as error:  # the sandbox is down, an AWS error: the page says so
            lines = str(error).strip().splitlines() or [""]
            message = (
                lines[0] if isinstance(error, UserError) else f"{type(error).__name__}: {lines[0]}"
            )
            self._json(HTTPStatus.BAD_GATEWAY, {"error": message})

    def _check_host(self) -> None:
        """Answer only to our own address (a DNS-rebinding page would send another Host)."""
        port = self.server.server_address[1]
        host = (self.headers.get("Host") or "").lower()
        if host not in {f"127.0.0.1:{port}", f"localhost:{port}"}:
            raise ApiError(HTTPStatus.FORBIDDEN, "the console answers only on its loopback URL")

    def _static(self, name: str) -> None:
        path = (STATIC_DIR / name).resolve()
        if path.parent != STATIC_DIR or not path.is_file():
            raise ApiError(HTTPStatus.NOT_FOUND, f"no file {name!r}")
        content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        self._send(200, path.read_bytes(), content_type)

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, default=_jsonable, separators=(",", ":")).encode()
        self._send(status, body, "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", CSP)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class ConsoleServer:
    """The console on http://127.0.0.1:<port>/.

    ``start`` serves from a daemon thread (``skybook up``, tests); ``serve_forever`` serves in
    the calling thread until Ctrl-C (``skybook console``). Port 0 picks a free port.
    """

    def __init__(self, data: ConsoleData, port: int = DEFAULT_PORT, *, verbose: bool = False):
        try:
            self._httpd = _HTTPServer((HOST, port), _Handler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ConsoleError(
                    f"console port {port} on {HOST} is already in use: pick another with "
                    f"--console-port (or {PORT_ENV})"
                ) from None
            raise ConsoleError(f"cannot serve the console on {HOST}:{port}: {error}") from None
        self._httpd.data = data
        self._httpd.verbose = verbose
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="skybook-console", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ConsoleServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
