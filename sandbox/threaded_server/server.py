"""Listening sockets, HTTPS on the same port, and a thread per connection that reads each
request, runs the WSGI application and writes the answer itself.

A connection idle between requests costs a thread blocked in ``recv`` (no CPU, no GIL).
HTTPS and plain HTTP share a port as in LocalStack (a first byte 0x16 is a TLS handshake).
Shutdown stops accepting, then shuts every open connection down, which wakes their threads.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import selectors
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.threaded_server.http1 import Answer, ClientGone, HttpError, read_body, read_head
from sandbox.threaded_server.http1 import wsgi_environ as build_environ

LOG = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
TLS_HANDSHAKE = 0x16


class ThreadedServer:
    def __init__(self) -> None:
        self._listeners: dict[socket.socket, tuple[WsgiApp, ssl.SSLContext | None]] = {}
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._numbers = itertools.count(1)

    def listen(
        self, host: str, port: int, app: WsgiApp, tls: ssl.SSLContext | None = None
    ) -> tuple[str, int]:
        """Serves ``app`` on ``host:port`` (port 0: any free one; HTTPS too with ``tls``) once
        :meth:`serve_forever` runs; returns the address bound."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host or "0.0.0.0", port))
        listener.listen(1024)
        listener.setblocking(False)
        self._listeners[listener] = (app, tls)
        return listener.getsockname()[:2]

    def serve_forever(self) -> None:
        """Accepts connections until :meth:`shutdown`, then closes them all."""
        with selectors.DefaultSelector() as selector:
            for listener in self._listeners:
                selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is not self._wake_r:
                        self._accept(key.fileobj)  # type: ignore[arg-type]
        for listener in self._listeners:
            listener.close()
        with self._lock:
            open_now = list(self._connections)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def shutdown(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, client = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:  # e.g. out of file descriptors: keep serving the others
            LOG.warning("accepting a connection failed: %s", error)
            return
        sock.setblocking(True)
        with self._lock:
            self._connections.add(sock)
        threading.Thread(
            target=self._serve_connection,
            args=(sock, client, *self._listeners[listener]),
            name=f"gateway-connection-{next(self._numbers)}",
            daemon=True,
        ).start()

    def _serve_connection(
        self,
        sock: socket.socket,
        client: tuple[Any, ...],
        app: WsgiApp,
        tls: ssl.SSLContext | None,
    ) -> None:
        conn = sock
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            local = sock.getsockname()[:2]
            secure = False
            if tls is not None:
                first = sock.recv(1, socket.MSG_PEEK)
                if not first:
                    return
                if first[0] == TLS_HANDSHAKE:
                    with self._lock:  # the TLS socket takes over the descriptor
                        self._connections.discard(sock)
                        conn = tls.wrap_socket(
                            sock, server_side=True, do_handshake_on_connect=False
                        )
                        self._connections.add(conn)
                    conn.do_handshake()
                    secure = True
            with conn.makefile("rb", buffering=65536) as rfile:
                while not self._stopping.is_set():
                    if not self._serve_request(app, conn, rfile, local, client[:2], secure):
                        break
        except (ClientGone, ConnectionError, ssl.SSLError, TimeoutError):
            pass  # the client went away, or spoke TLS badly: nothing to answer
        except OSError as error:
            if not self._stopping.is_set():
                LOG.debug("connection from %s ended: %s", client, error)
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _serve_request(
        self,
        app: WsgiApp,
        conn: socket.socket,
        rfile: Any,
        local: tuple[str, int],
        client: tuple[str, int],
        secure: bool,
    ) -> bool:
        """Serves one request; whether the connection can take another."""

        def send(data: bytes) -> None:
            try:
                conn.sendall(data)
            except OSError as error:  # told apart from the application's own errors
                raise ClientGone from error

        try:
            head = read_head(rfile)
            if head is None:
                return False
            body = read_body(head, rfile, send)
            environ = build_environ(head, body, local, client, secure)
        except HttpError as error:
            send(error.answer())
            return False
        answer = Answer(send, head)
        try:
            answer.send_all(app(environ, answer.start_response))
        except ClientGone:
            raise
        except Exception:
            LOG.exception("the gateway failed on %s %s", head.method, head.target)
            if not answer.head_sent:
                send(HttpError(500, "Internal Server Error", "gateway error").answer())
            return False
        finally:
            body.close()
        return answer.keep_alive
