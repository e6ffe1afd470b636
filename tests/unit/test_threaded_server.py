"""The kit's gateway server (sandbox/threaded_server) over real sockets, with a small WSGI
application in place of LocalStack's gateway: what a handler sees of a request, how answers
are framed, bad requests, HTTPS on the same port, and shutdown."""

from __future__ import annotations

import datetime
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from sandbox.threaded_server import server as server_module
from sandbox.threaded_server.server import ThreadedServer

Environ = dict[str, Any]
SLOW_STARTED, SLOW_MAY_END = threading.Event(), threading.Event()
BIG = 16 * 1024 * 1024


def app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Echoes the request as JSON; some paths answer in other shapes."""
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("a bug in a handler")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (f"part {i}\n".encode() for i in range(3))
    if path == "/slow":
        SLOW_STARTED.set()
        SLOW_MAY_END.wait(5)
        start_response("200 OK", [("Content-Length", "4")])
        return [b"done"]
    if path == "/keep":
        start_response("200 OK", [("Connection", "keep-alive"), ("Content-Length", "0")])
        return []
    if path == "/long-answer":
        start_response("200 OK", [("Content-Length", str(BIG))])
        return [b"x" * BIG]
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    body = environ["wsgi.input"].read()
    seen = {
        key: value
        for key, value in environ.items()
        if key.isupper() or key in ("wsgi.url_scheme", "wsgi.input_terminated")
    }
    seen["rolo.headers"] = [[k.decode(), v.decode()] for k, v in environ["rolo.headers"]]
    seen["body_length"] = len(body)
    seen["body_head"] = body[:20].decode("latin-1")
    data = json.dumps(seen).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("X-Mixed-Case", "kept"),
        ],
    )
    return [data]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def served(certificate: tuple[str, str]) -> Iterator[tuple[ThreadedServer, int]]:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    server = ThreadedServer()
    _, port = server.listen("127.0.0.1", 0, app, tls)
    runner = threading.Thread(target=server.serve_forever, daemon=True)
    runner.start()
    yield server, port
    server.shutdown()
    runner.join(timeout=5)
    assert not runner.is_alive()


@pytest.fixture
def port(served: tuple[ThreadedServer, int]) -> int:
    return served[1]


def echo(conn: http.client.HTTPConnection, *args: Any, **kwargs: Any) -> dict[str, Any]:
    conn.request(*args, **kwargs)
    answer = conn.getresponse()
    assert answer.status == 200, answer.read()
    result: dict[str, Any] = json.loads(answer.read())
    return result


def raw(port: int, data: bytes, *, read_until_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        if not read_until_close:
            return sock.recv(65536)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_request_reaches_the_app_as_twisted_gives_it_to_localstack(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    seen = echo(
        conn,
        "POST",
        "/a%20b/c?x=1&y=%20",
        body=b'{"k": 1}',
        headers={"X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": "application/json"},
    )
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["PATH_INFO"] == "/a b/c"  # decoded, as WSGI asks
    assert seen["RAW_URI"] == seen["REQUEST_URI"] == "/a%20b/c?x=1&y=%20"
    assert seen["QUERY_STRING"] == "x=1&y=%20"
    assert seen["SERVER_NAME"] == "127.0.0.1" and seen["SERVER_PORT"] == str(port)
    assert seen["CONTENT_TYPE"] == "application/json" and seen["CONTENT_LENGTH"] == "8"
    assert seen["HTTP_X_AMZ_TARGET"] == "DynamoDB_20120810.GetItem"
    assert ["X-Amz-Target", "DynamoDB_20120810.GetItem"] in seen["rolo.headers"]  # casing kept
    assert seen["body_head"] == '{"k": 1}' and seen["wsgi.input_terminated"] is True
    assert seen["wsgi.url_scheme"] == "http" and seen["REMOTE_ADDR"] == "127.0.0.1"


def test_one_connection_serves_request_after_request(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    first = echo(conn, "GET", "/one")
    second = echo(conn, "GET", "/two")
    assert first["REMOTE_PORT"] == second["REMOTE_PORT"]  # the same connection, kept alive
    assert second["PATH_INFO"] == "/two"


def test_a_connection_per_request_reuses_the_idle_worker_threads(port: int) -> None:
    def workers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("gateway-worker-")}

    before = workers()
    for i in range(20):  # as urllib does: a new connection for every request
        assert raw(port, f"GET /{i} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
    started = workers() - before
    assert len(started) == 1, [t.name for t in started]  # idle before the close


def test_repeated_headers_are_joined_and_kept_in_order(port: int) -> None:
    answer = raw(
        port,
        b"GET /h HTTP/1.1\r\nHost: example.com:4566\r\nX-A: 1\r\nx-a: 2\r\n"
        b"Connection: close\r\n\r\n",
    )
    seen = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert seen["HTTP_X_A"] == "1,2"
    assert seen["SERVER_NAME"] == "example.com"
    assert ["x-a", "1"] in seen["rolo.headers"] and ["x-a", "2"] in seen["rolo.headers"]


def test_bodies_chunked_large_and_after_100_continue(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    chunked = echo(conn, "PUT", "/c", body=iter([b"hello ", b"world"]), encode_chunked=True)
    assert chunked["body_head"] == "hello world" and chunked["CONTENT_LENGTH"] == ""
    big = b"x" * (3 * 1024 * 1024)  # past what is kept in memory
    assert echo(conn, "PUT", "/big", body=big)["body_length"] == len(big)

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"PUT /e HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # before the body is sent
        sock.sendall(b"body")
        assert b'"body_head": "body"' in sock.recv(65536)


def test_answers_are_framed_by_length_chunks_or_nothing(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/stream")
    answer = conn.getresponse()
    assert answer.getheader("Transfer-Encoding") == "chunked"
    assert answer.read() == b"part 0\npart 1\npart 2\n"
    conn.request("HEAD", "/x")
    head = conn.getresponse()
    assert int(head.getheader("Content-Length", "0")) > 0 and head.read() == b""
    conn.request("GET", "/empty")
    empty = conn.getresponse()
    assert empty.status == 204 and empty.read() == b""
    conn.request("GET", "/x")  # still in step after all three
    answer = conn.getresponse()
    assert answer.getheader("X-Mixed-Case") == "kept" and answer.getheader("Date")
    assert json.loads(answer.read())["PATH_INFO"] == "/x"


def test_http_1_0_gets_its_answer_and_the_connection_closed(port: int) -> None:
    answer = raw(port, b"GET /old HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b"Connection: close\r\n" in answer


@pytest.mark.parametrize(
    ("request_bytes", "status", "says"),
    [
        (b"NONSENSE\r\n\r\n", b"400", b"malformed request line"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", b"400", b"malformed header"),
        (b"PUT / HTTP/1.1\r\nContent-Length: ten\r\n\r\n", b"400", b"Content-Length"),
        (b"GET / HTTP/2.0\r\n\r\n", b"505", b"SKYBOOK_SPEEDUPS=-threaded_server"),
        (
            b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            b"501",
            b"SKYBOOK_SPEEDUPS=-threaded_server",
        ),
        # a header line past 64 KiB is refused whole, never read as two headers
        (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"X-Smuggled: yes\r\n\r\n", b"431", b""),
        (b"GET http://[bad/x HTTP/1.1\r\n\r\n", b"400", b"absolute request target"),
    ],
)
def test_a_bad_request_gets_a_clear_4xx_or_5xx_and_the_connection_closed(
    port: int, request_bytes: bytes, status: bytes, says: bytes
) -> None:
    answer = raw(port, request_bytes)  # returns only once the server closed the connection
    assert answer.split(b" ")[1] == status
    assert says in answer


def test_an_app_error_is_a_500_and_the_server_serves_on(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/fail")
    assert conn.getresponse().status == 500
    assert echo(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "GET", "/ok")


def test_https_on_the_same_port(port: int) -> None:
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=insecure)
    first, second = echo(conn, "GET", "/tls"), echo(conn, "POST", "/tls", body=b"again")
    assert first["wsgi.url_scheme"] == "https" and second["body_head"] == "again"
    assert (
        echo(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "GET", "/plain")[
            "wsgi.url_scheme"
        ]
        == "http"
    )


def test_shutdown_closes_idle_connections_and_stops_listening(
    served: tuple[ThreadedServer, int],
) -> None:
    server, port = served
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)
    idle.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")
    server.shutdown()
    assert idle.recv(100) == b""  # the server closed the kept-alive connection
    idle.close()
    # Its listening sockets are closed (a connect to the port could still succeed: another
    # process may have bound the freed port, or Linux may connect the socket to itself).
    assert [listener.fileno() for listener in server._listeners] == [-1]


def test_a_silent_client_is_let_go_after_the_idle_timeout(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "IDLE_TIMEOUT_S", 0.2)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n")  # and never the end of the head
        assert sock.recv(100) == b""  # closed by the server, well before the client's 5 s


def test_shutdown_lets_an_answer_being_made_finish(served: tuple[ThreadedServer, int]) -> None:
    server, port = served
    SLOW_STARTED.clear()
    SLOW_MAY_END.clear()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        assert SLOW_STARTED.wait(5)
        server.shutdown()
        SLOW_MAY_END.set()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"done")


def test_no_thread_for_a_connection_costs_that_connection_only(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = socket.create_connection(("127.0.0.1", port), timeout=5)  # keeps its worker busy
    busy.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert busy.recv(65536).startswith(b"HTTP/1.1 200")
    original = threading.Thread.start
    failures: list[str] = []

    def start_or_fail(thread: threading.Thread) -> None:
        if thread.name.startswith("gateway-worker-") and not failures:
            failures.append(thread.name)
            raise RuntimeError("can't start new thread")
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", start_or_fail)
    try:
        refused = raw(port, b"GET /refused HTTP/1.1\r\n\r\n")
    except ConnectionError:  # closed with the request unread: a reset or a broken pipe
        refused = b""
    assert refused == b""  # closed, unanswered
    assert failures
    assert echo(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "GET", "/next")
    busy.close()


def test_an_http2_client_gets_http2s_own_refusal_with_the_reason(port: int) -> None:
    answer = raw(port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    settings, goaway = answer[:9], answer[9:]
    assert settings == b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # type 4, empty
    length, kind = int.from_bytes(goaway[:3], "big"), goaway[3]
    assert kind == 7 and length == len(goaway) - 9  # GOAWAY, one whole frame
    assert goaway[13:17] == b"\x00\x00\x00\x0d"  # HTTP_1_1_REQUIRED
    assert b"SKYBOOK_SPEEDUPS=-threaded_server" in goaway[17:]


def test_a_connection_the_server_closes_is_said_to_close_whatever_the_app_says(
    port: int,
) -> None:
    answer = raw(port, b"GET /keep HTTP/1.0\r\n\r\n")  # HTTP/1.0 without keep-alive
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert b"Connection: close" in head and b"keep-alive" not in head


def test_a_slow_reader_of_a_long_answer_is_not_cut_off(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "IDLE_TIMEOUT_S", 0.2)  # for requests, not answers
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /long-answer HTTP/1.1\r\nConnection: close\r\n\r\n")
        time.sleep(0.5)  # the reader pauses: the server's send blocks past its idle timeout
        received = 0
        while chunk := sock.recv(1 << 20):
            received += len(chunk)
    assert received > BIG  # the head and all of the body
