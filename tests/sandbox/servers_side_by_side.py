"""Run by LocalStack's own Python (tests/sandbox/test_threaded_server_parity.py): the same raw
requests to rolo's Twisted gateway, as LocalStack serves it, and to the kit's threaded server,
each around one WSGI application that answers with what it was given; prints both as JSON.

Usage: ``python servers_side_by_side.py < requests.json`` (a list of latin-1 strings).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read()
    seen = {
        k: v for k, v in environ.items() if k.isupper() and k not in ("REMOTE_PORT", "SERVER_PORT")
    }
    seen["rolo.headers"] = [
        [k.decode("latin-1"), v.decode("latin-1")] for k, v in environ["rolo.headers"]
    ]
    seen["wsgi.url_scheme"] = environ["wsgi.url_scheme"]
    seen["body"] = body.decode("latin-1")
    data = json.dumps(seen, sort_keys=True).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def twisted_port() -> int:
    import rolo.serving.twisted as rolo_twisted
    from twisted.internet import reactor

    class Gateway:  # rolo's WebSocket listener needs one; no request here upgrades
        def accept(self, request: Any) -> None:
            pass

    rolo_twisted.WsgiGateway = lambda gateway: app
    site = rolo_twisted.TwistedGateway(Gateway())
    port: int = reactor.listenTCP(0, site, interface="127.0.0.1").getHost().port
    run = threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False})
    run.daemon = True
    run.start()
    return port


def threaded_port() -> int:
    from sandbox.threaded_server.server import ThreadedServer

    server = ThreadedServer()
    _, port = server.listen("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return port


def answer(port: int, data: bytes) -> dict[str, Any]:
    """The status line and, for a 200, what the application saw."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/1.1 100 "):
        head, _, body = body.partition(b"\r\n\r\n")
        head = b"[100 Continue] " + head
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    return {"status": status, "seen": json.loads(body) if body.startswith(b"{") else None}


def main() -> None:
    requests = [r.encode("latin-1") for r in json.load(sys.stdin)]
    ports = {"twisted": twisted_port(), "threaded": threaded_port()}
    json.dump(
        [{name: answer(port, r) for name, port in ports.items()} for r in requests], sys.stdout
    )


if __name__ == "__main__":
    main()
