"""Helpers for the kit's unit tests: the app's email templates, a fake HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bootstrap.stack import load_templates
from skybook.handlebars import Template

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
# serve_forever checks for shutdown() every 0.5 s by default: each test would wait for it.
QUICK_SHUTDOWN = {"poll_interval": 0.05}


def app_template(name: str) -> Template:
    """One of the app's SES templates, as its manifest describes it (and bootstrap deploys it)."""
    found = next(t for t in load_templates(FUNCTIONS) if t.name == name)
    return Template(name=found.name, subject=found.subject, html=found.html, text=found.text)


Route = Callable[[str, bytes], tuple[int, str, bytes]]  # (method, body) -> status, type, body


class FakeHttp:
    """A loopback HTTP server answering from ``routes`` (path with query -> Route); it
    records every request as (method, path, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, bytes]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append((self.command, self.path, body))
                route = fake.routes.get(self.path)
                status, kind, raw = route(self.command, body) if route else (404, "text/plain", b"")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def json(self, path: str, value: Any, status: int = 200) -> None:
        raw = json.dumps(value).encode()
        self.routes[path] = lambda _method, _body: (status, "application/json", raw)


@pytest.fixture
def fake_http() -> Iterator[FakeHttp]:
    fake = FakeHttp()
    thread = threading.Thread(target=fake.server.serve_forever, kwargs=QUICK_SHUTDOWN, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
        thread.join()
