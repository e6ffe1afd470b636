"""The HTTP/1.1 client that forwards DynamoDB requests to DynamoDB Local
(``sandbox/speedups/dynamodb_proxy.py``), against a scripted backend on a real socket: what
it sends, how it reads each way an answer can be framed, when it keeps a connection, and
what it says when the backend misbehaves. (That LocalStack answers the same through it is
the e2e suite's part: every DynamoDB request of the app goes through it.)"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, cast

import pytest

from sandbox.speedups.dynamodb_proxy import BackendError, DirectProxy, wire_target
from sandbox.threaded_server.http1 import RequestHead, read_body, read_head

pytestmark = [
    pytest.mark.timeout(20),  # a client and backend waiting on each other fail fast
    pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"),  # unclosed
]
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}"


def _echo(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


class Backend:
    """Answers each request with the next scripted answer (raw bytes), then closes the
    connection if the script says so, or, once the script is done, with the request's body;
    records which connection carried which request."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.script: list[tuple[bytes, bool]] = []
        self.seen: list[tuple[int, RequestHead, bytes]] = []
        self.connections = 0
        self.closed = threading.Semaphore(0)  # released as the backend closes a connection
        threading.Thread(target=self._accept, daemon=True).start()

    def answer(self, *answers: bytes, close: bool = False) -> None:
        self.script.extend((answer, close) for answer in answers)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        with conn, conn.makefile("rb") as rfile:
            while (head := read_head(cast(IO[bytes], rfile))) is not None:
                body = read_body(head, cast(IO[bytes], rfile), conn.sendall).read()
                self.seen.append((number, head, body))
                answer, close = self.script.pop(0) if self.script else (_echo(body), False)
                conn.sendall(answer)
                if close:
                    break
        self.closed.release()


@pytest.fixture
def backend() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.listener.close()


@pytest.fixture
def proxy(backend: Backend) -> Iterator[DirectProxy]:
    client = DirectProxy(f"http://127.0.0.1:{backend.port}")
    yield client
    client.close()


def test_sends_the_request_whole_with_what_urllib3_added(
    backend: Backend, proxy: DirectProxy
) -> None:
    backend.answer(OK, OK)
    headers = {"X-Amz-Target": "DynamoDB_20120810.GetItem", "Authorization": "AWS4 Credential=k"}
    answer = proxy.exchange("POST", "/?a=1", headers, b'{"TableName": "t"}')
    assert (answer.status, answer.body) == (200, b"{}")
    assert ("Content-Type", "application/x-amz-json-1.0") in answer.headers
    _, head, body = backend.seen[0]
    assert (head.method, head.target, body) == (b"POST", b"/?a=1", b'{"TableName": "t"}')
    assert head.get(b"x-amz-target") == b"DynamoDB_20120810.GetItem"
    assert head.get(b"host") == f"127.0.0.1:{backend.port}".encode()
    assert head.get(b"accept-encoding") == b"identity"
    assert head.get(b"content-length") == b"18"
    proxy.exchange("POST", "/", {"Host": "localhost:4566", "Accept-Encoding": "gzip"}, b"")
    _, head, _ = backend.seen[1]
    assert head.values[b"host"] == [b"localhost:4566"]  # the client's, not a second one
    assert head.values[b"accept-encoding"] == [b"gzip"]
    assert head.get(b"content-length") == b"0"


def test_keeps_the_connection_for_the_next_request(backend: Backend, proxy: DirectProxy) -> None:
    backend.answer(OK, OK, OK)
    for _ in range(3):
        assert proxy.exchange("POST", "/", {}, b"{}").status == 200
    assert [number for number, _, _ in backend.seen] == [1, 1, 1]


def test_a_connection_the_backend_closes_is_not_reused(
    backend: Backend, proxy: DirectProxy
) -> None:
    backend.answer(OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1), close=True)
    backend.answer(OK, close=True)  # closed without saying so: seen before the reuse
    backend.answer(OK)
    for _ in range(2):
        assert proxy.exchange("POST", "/", {}, b"{}").body == b"{}"
        assert backend.closed.acquire(timeout=5)  # closed before the next request is sent
    assert proxy.exchange("POST", "/", {}, b"{}").body == b"{}"
    assert [number for number, _, _ in backend.seen] == [1, 2, 3]


def test_reads_chunked_answers_and_skips_interim_ones(backend: Backend, proxy: DirectProxy) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;x=y\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\nT: v\r\n\r\n'
    )
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    backend.answer(interim + chunked, OK)
    answer = proxy.exchange("POST", "/", {}, b"{}")
    assert (answer.status, answer.body) == (200, b'{"a": 1}')
    assert ("Transfer-Encoding", "chunked") in answer.headers  # as received: LocalStack parses
    assert proxy.exchange("POST", "/", {}, b"{}").body == b"{}"
    assert [number for number, _, _ in backend.seen] == [1, 1]


def test_answers_without_a_body_or_delimited_by_the_close(
    backend: Backend, proxy: DirectProxy
) -> None:
    backend.answer(
        b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
    )
    backend.answer(b"HTTP/1.0 200 OK\r\n\r\nto the end", close=True)
    backend.answer(OK)
    assert proxy.exchange("POST", "/", {}, b"").body == b""
    assert proxy.exchange("HEAD", "/", {}, b"").body == b""
    assert proxy.exchange("POST", "/", {}, b"").body == b"to the end"
    assert proxy.exchange("GET", "/", {}, b"").body == b"{}"
    assert [number for number, _, _ in backend.seen] == [1, 1, 1, 2]
    assert backend.seen[3][1].get(b"content-length") == b"0"  # as urllib3: any bytes body


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (b"", "closed the connection before its answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "inside its answer"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n", "unreadable answer"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "unreadable answer"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 099 Odd\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "not a number"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n{}", "not chunked"),
    ],
)
def test_a_misbehaving_backend_is_a_clear_error(
    backend: Backend, proxy: DirectProxy, answer: bytes, said: str
) -> None:
    backend.answer(answer, close=True)
    backend.answer(OK)
    with pytest.raises(BackendError, match=said):
        proxy.exchange("POST", "/", {}, b"{}")
    assert proxy.exchange("POST", "/", {}, b"{}").body == b"{}"  # on a new connection
    assert [number for number, _, _ in backend.seen] == [1, 2]


def test_a_header_that_would_split_the_request_is_refused_unsent(
    backend: Backend, proxy: DirectProxy
) -> None:
    with pytest.raises(ValueError, match="invalid header"):
        proxy.exchange("POST", "/", {"X-A": "1\r\nX-B: 2"}, b"{}")
    assert proxy.exchange("POST", "/", {"X-A": "1"}, b"{}").body == b"{}"
    assert [head.values.get(b"x-b") for _, head, _ in backend.seen] == [None]


def test_an_unreachable_backend_is_a_connection_error() -> None:
    with socket.socket() as bound:  # bound, not listening: refused, and the port stays ours
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        with pytest.raises(ConnectionError):
            DirectProxy(f"http://127.0.0.1:{port}").exchange("POST", "/", {}, b"{}")


def test_http_1_0_keep_alive_is_kept(backend: Backend, proxy: DirectProxy) -> None:
    backend.answer(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n{}", OK)
    for _ in range(2):
        assert proxy.exchange("POST", "/", {}, b"{}").body == b"{}"
    assert [number for number, _, _ in backend.seen] == [1, 1]


@pytest.mark.parametrize(
    ("target", "sent"),
    [  # what urllib3 2.x sent for each (urllib3.util.url._encode_target)
        ("/", "/"),
        ("/a b", "/a%20b"),
        ("/a\r\nPOST /smuggled HTTP/1.1", "/a%0D%0APOST%20/smuggled%20HTTP/1.1"),
        ("/€", "/%E2%82%AC"),
        ("/x%2fy%20z", "/x%2Fy%20z"),
        ("/%zz%20", "/%25zz%2520"),
        ("/p?q=a b&r=?/x", "/p?q=a%20b&r=?/x"),
        ("/a:b@c!$&'()*+,;=-._~", "/a:b@c!$&'()*+,;=-._~"),
    ],
)
def test_the_target_is_encoded_as_urllib3_encoded_it(target: str, sent: str) -> None:
    assert wire_target(target) == sent


def test_many_threads_share_the_connections_and_each_gets_its_answer(
    backend: Backend, proxy: DirectProxy
) -> None:
    def client(number: int) -> list[bool]:
        bodies = [b"%d-%d" % (number, i) for i in range(25)]
        return [proxy.exchange("POST", "/", {}, body).body == body for body in bodies]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    assert all(all(ok) for ok in results)
    assert backend.connections <= 8


def test_no_socket_is_left_open_after_errors_and_close(backend: Backend) -> None:
    def open_sockets() -> int:
        return sum(1 for fd in os.listdir("/proc/self/fd") if _is_socket(fd))

    before = open_sockets()
    proxy = DirectProxy(f"http://127.0.0.1:{backend.port}")
    backend.answer(
        b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}", close=True
    )
    for _ in range(2):
        with pytest.raises(BackendError):
            proxy.exchange("POST", "/", {}, b"{}")
    for _ in range(3):
        proxy.exchange("POST", "/", {}, b"{}")
    proxy.close()
    deadline = time.monotonic() + 5  # the backend closes its ends as it sees ours close
    while open_sockets() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert open_sockets() == before


def _is_socket(fd: str) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        return False


def test_a_request_in_flight_as_the_proxy_closes_does_not_keep_its_connection(
    backend: Backend,
) -> None:
    proxy = DirectProxy(f"http://127.0.0.1:{backend.port}")
    release = threading.Event()
    backend.answer(OK)
    original_serve = backend._serve

    def slow_serve(conn: socket.socket, number: int) -> None:
        release.wait(5)  # the answer comes only after close()
        original_serve(conn, number)

    backend._serve = slow_serve  # type: ignore[method-assign]
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(proxy.exchange, "POST", "/", {}, b"{}")
        deadline = time.monotonic() + 5
        while backend.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        proxy.close()
        release.set()
        assert in_flight.result(timeout=5).body == b"{}"
    assert backend.closed.acquire(timeout=5)  # its connection was closed, not kept idle
