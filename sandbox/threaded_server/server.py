"""Listening sockets, HTTPS on the same port, and worker threads that each serve one
connection at a time: read a request, run the WSGI application, write the answer.

A connection idle between requests costs a thread blocked in ``recv`` (no CPU, no GIL), for
at most IDLE_TIMEOUT_S (Twisted's request timeout: a slow or silent client cannot keep a
thread forever). A worker whose connection ended waits for the next one (WORKER_IDLE_S):
clients that open a connection per request (urllib) would otherwise cost a thread start each.
HTTPS and plain HTTP share a port as in LocalStack (a first byte 0x16 is a TLS handshake).
Shutdown stops accepting and ends idle connections at once; answers being written get up to
SHUTDOWN_GRACE_S to finish, as LocalStack gives Twisted's worker threads.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any, NamedTuple, cast

from sandbox.threaded_server.http1 import (
    Answer,
    ClientGone,
    HttpError,
    RequestHead,
    read_body,
    read_head,
)
from sandbox.threaded_server.http1 import wsgi_environ as build_environ

LOG = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
TLS_HANDSHAKE = 0x16
IDLE_TIMEOUT_S = 60.0
WORKER_IDLE_S = 60.0
SHUTDOWN_GRACE_S = 10.0
ACCEPT_BACKOFF_S = 0.1  # out of file descriptors: accept again after this, not in a busy loop
DRAIN_BYTES, DRAIN_S = 65536, 1.0  # read after a refusal, so that the client sees the refusal


class UpgradeRefused(HttpError):
    def __init__(self) -> None:
        super().__init__(
            501,
            "Not Implemented",
            "skybook's gateway server does not upgrade connections (WebSocket); start the "
            "sandbox with SKYBOOK_SPEEDUPS=-threaded_server for LocalStack's Twisted server",
        )


class _Job(NamedTuple):
    """A connection accepted, for a worker: what it serves there comes from its listener."""

    sock: socket.socket
    client: tuple[Any, ...]
    app: WsgiApp
    tls: ssl.SSLContext | None


class ThreadedServer:
    """A worker thread per connection: the thread that reads a request runs LocalStack's
    handler chain and writes the answer, so a request holds the GIL in one thread only."""

    def __init__(self) -> None:
        self._listeners: dict[socket.socket, tuple[WsgiApp, ssl.SSLContext | None]] = {}
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._numbers = itertools.count(1)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._idle_workers = 0  # waiting on _jobs, not yet promised a job (under _lock)
        self._warned_at = 0.0

    def listen(
        self, host: str, port: int, app: WsgiApp, tls: ssl.SSLContext | None = None
    ) -> tuple[str, int]:
        """Serves ``app`` on ``host:port`` (port 0: any free one; HTTPS too with ``tls``) once
        :meth:`serve_forever` runs; returns the address bound."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host or "0.0.0.0", port))  # the host given (Twisted: any)
            listener.listen(1024)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        self._listeners[listener] = (app, tls)
        return listener.getsockname()[:2]

    def serve_forever(self) -> None:
        """Accepts connections until :meth:`shutdown`, then ends them (see the module)."""
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
            for _ in range(self._idle_workers):
                self._jobs.put(None)  # each idle worker ends
            self._idle_workers = 0
            workers = list(self._workers)
        for sock in open_now:
            # No more reading: a worker waiting for a request sees the end at once, one
            # writing an answer finishes it first. (The plain socket's shutdown: an SSL
            # socket's own would drop its TLS state under a worker still writing.)
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RD)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        self._wake_r.close()
        self._wake_w.close()

    def shutdown(self) -> None:
        """From any thread: the wake byte ends :meth:`serve_forever`'s wait."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _accept(self, listener: socket.socket) -> None:
        """Takes every connection waiting; each goes to an idle worker, else to a new one."""
        while True:
            try:
                sock, client = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of file descriptors, say: the others go on
                self._warn("accepting a connection failed", error)
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._stopping.wait(ACCEPT_BACKOFF_S)
                return
            sock.setblocking(True)
            job = _Job(sock, client, *self._listeners[listener])
            with self._lock:
                self._connections.add(sock)
                if self._idle_workers:
                    self._idle_workers -= 1
                    self._jobs.put(job)
                    continue
            worker = threading.Thread(
                target=self._work,
                args=(job,),
                name=f"gateway-worker-{next(self._numbers)}",
                daemon=True,
            )
            try:
                with self._lock:
                    self._workers.add(worker)
                worker.start()
            except RuntimeError as error:  # no thread to be had: this client only loses
                self._warn("starting a worker failed", error)
                with self._lock:
                    self._workers.discard(worker)
                    self._connections.discard(sock)
                sock.close()

    def _warn(self, what: str, error: BaseException) -> None:
        """At most one line every 10 s: a flood of failures must not flood the log."""
        now = time.monotonic()
        if now - self._warned_at > 10:
            self._warned_at = now
            LOG.warning("%s: %s", what, error)

    def _work(self, job: _Job | None) -> None:
        """Serves connection after connection; ends after WORKER_IDLE_S without one."""
        try:
            while job is not None:
                conn = job.sock
                try:
                    conn = self._serve_connection(*job)
                except Exception:  # a bug here must cost one connection, never the worker
                    LOG.exception("serving a connection failed")
                with self._lock:
                    self._connections.discard(conn)
                    if not self._stopping.is_set():
                        self._idle_workers += 1  # before the close the client may act on
                conn.close()
                if self._stopping.is_set():
                    return
                try:
                    job = self._jobs.get(timeout=WORKER_IDLE_S)
                except queue.Empty:
                    with self._lock:
                        try:  # promised a job just as the wait ended?
                            job = self._jobs.get_nowait()
                        except queue.Empty:
                            self._idle_workers -= 1
                            return
        finally:
            with self._lock:
                self._workers.discard(threading.current_thread())

    def _serve_connection(
        self,
        sock: socket.socket,
        client: tuple[Any, ...],
        app: WsgiApp,
        tls: ssl.SSLContext | None,
    ) -> socket.socket:
        """Serves a connection until it ends; the socket to close (TLS's, once wrapped)."""
        conn = sock
        try:
            sock.settimeout(IDLE_TIMEOUT_S)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            local = sock.getsockname()[:2]
            secure = False
            if tls is not None:
                first = sock.recv(1, socket.MSG_PEEK)
                if not first:
                    return conn
                if first[0] == TLS_HANDSHAKE:
                    with self._lock:  # the TLS socket takes over the descriptor
                        self._connections.discard(sock)
                        conn = tls.wrap_socket(
                            sock, server_side=True, do_handshake_on_connect=False
                        )
                        self._connections.add(conn)
                        if self._stopping.is_set():  # missed by shutdown's snapshot
                            return conn
                    conn.do_handshake()
                    secure = True
            with conn.makefile("rb", buffering=65536) as rfile:
                while not self._stopping.is_set():
                    if not self._serve_request(
                        app, conn, cast(IO[bytes], rfile), local, client[:2], secure
                    ):
                        break
        except (ClientGone, ConnectionError, ssl.SSLError, TimeoutError):
            pass  # the client went away, was silent too long, or spoke TLS badly
        except OSError as error:
            if not self._stopping.is_set():
                LOG.debug("connection from %s ended: %s", client, error)
        return conn

    def _serve_request(
        self,
        app: WsgiApp,
        conn: socket.socket,
        rfile: IO[bytes],
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

        conn.settimeout(IDLE_TIMEOUT_S)  # for the request; the answer may take its time
        body: IO[bytes] | None = None
        try:
            head = read_head(rfile)
            if head is None:
                return False
            _refuse_what_twisted_would_not_pass_on(head)
            body = read_body(head, rfile, send)
            environ = build_environ(head, body, local, client, secure)
        except HttpError as error:
            if body is not None:
                body.close()
            send(error.answer())
            _drain(conn, rfile)
            return False
        conn.settimeout(None)  # a slow reader of a long answer is not an idle client
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


def _refuse_what_twisted_would_not_pass_on(head: RequestHead) -> None:
    """Twisted answers ``OPTIONS *`` itself and hands WebSocket upgrades to rolo's WebSocket
    listener; neither reaches LocalStack's HTTP handlers there, so neither does here."""
    if head.target == b"*":
        if head.method == b"OPTIONS":
            raise HttpError(200, "OK", "")
        raise HttpError(400, "Bad Request", "the request target * is for OPTIONS only")
    if (head.get(b"upgrade") or b"").lower() == b"websocket":
        raise UpgradeRefused


def _drain(conn: socket.socket, rfile: IO[bytes]) -> None:
    """Read what the client still sends (a body being uploaded) before the close, briefly: a
    close with unread data resets the connection, and the client would see the reset instead
    of the refusal."""
    deadline = time.monotonic() + DRAIN_S
    drained = 0
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(conn, socket.SHUT_WR)  # the answer is whole: the client sees it
        while drained < DRAIN_BYTES and (left := deadline - time.monotonic()) > 0:
            conn.settimeout(left)
            data = rfile.read1(DRAIN_BYTES)  # type: ignore[attr-defined]
            if not data:
                return
            drained += len(data)
