"""The kit's gateway server against Twisted, as LocalStack serves it: the same raw requests
to both (tests/sandbox/servers_side_by_side.py, run by LocalStack's own Python) must get the
same status and give LocalStack's handlers the same WSGI environment, byte for byte.

Two differences are deliberate and left out: lines ending in a bare LF (RFC 9112 2.2 allows
them; Twisted waits for a CRLF forever) and an absolute target with a broken IPv6 host
(Twisted fails with a 500, the kit's server answers 400)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.paths import Paths

pytestmark = pytest.mark.sandbox

CLOSE = "Connection: close\r\n"
REQUESTS = {
    "percent-encoded path and query": "GET /a%2Fb/c%20d/%C3%A9?x=%2F&y HTTP/1.1\r\n"
    f"Host: h\r\n{CLOSE}\r\n",
    "non-ASCII request line": f"GET /\u00e9 HTTP/1.1\r\nHost: h\r\n{CLOSE}\r\n",
    "absolute form": "GET http://sns.eu-central-1.amazonaws.com/a%20b;p?x=1 HTTP/1.1\r\n"
    f"Host: sns.eu-central-1.amazonaws.com\r\n{CLOSE}\r\n",
    "absolute form without a path": "GET http://host.com HTTP/1.1\r\n"
    f"Host: host.com\r\n{CLOSE}\r\n",
    "empty query": f"GET /p? HTTP/1.1\r\nHost: h:4566\r\n{CLOSE}\r\n",
    "double slashes": f"GET //a//b/ HTTP/1.1\r\nHost: h\r\n{CLOSE}\r\n",
    "repeated headers in mixed case": "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nX-B: q\r\n"
    f"X-A: 3\r\nCONTENT-type: text/x\r\n{CLOSE}\r\n",
    "spaces around values, an empty value": "GET / HTTP/1.1\r\nHost: h\r\nX-W:   \t spaced \t \r\n"
    f"X-E:\r\n{CLOSE}\r\n",
    "folded header": f"GET / HTTP/1.1\r\nHost: h\r\nX-F: a\r\n  b\r\n{CLOSE}\r\n",
    "host with a bad port": f"GET / HTTP/1.1\r\nHost: h:abc\r\n{CLOSE}\r\n",
    "host with an empty port": f"GET / HTTP/1.1\r\nHost: h:\r\n{CLOSE}\r\n",
    "IPv6 host": f"GET / HTTP/1.1\r\nHost: [::1]:4566\r\n{CLOSE}\r\n",
    "HTTP/1.0 without a host": "GET / HTTP/1.0\r\n\r\n",
    "chunked body with an extension and a trailer": "POST /c HTTP/1.1\r\nHost: h\r\n"
    f"Transfer-Encoding: chunked\r\n{CLOSE}\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n"
    "Trailer: x\r\n\r\n",
    "chunked and a length": "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
    f"Content-Length: 3\r\n{CLOSE}\r\n5\r\nhello\r\n0\r\n\r\n",
    "identity encoding": "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n"
    f"Content-Length: 3\r\n{CLOSE}\r\nabc",
    "two lengths": "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n"
    f"{CLOSE}\r\nabc",
    "100-continue": "PUT /e HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
    f"{CLOSE}\r\nbody",
    "100-continue without a body": "GET /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
    f"{CLOSE}\r\n",
    "underscore in a name": f"GET / HTTP/1.1\r\nHost: h\r\nX_Under: u\r\n{CLOSE}\r\n",
    "OPTIONS *": f"OPTIONS * HTTP/1.1\r\nHost: h\r\n{CLOSE}\r\n",
    "two spaces in the request line": f"GET  /x  HTTP/1.1\r\nHost: h\r\n{CLOSE}\r\n",
    "absolute form, not UTF-8": f"GET http://h/\xff HTTP/1.1\r\nHost: h\r\n{CLOSE}\r\n",
    "path not UTF-8": f"GET /\xff HTTP/1.1\r\nHost: h\r\n{CLOSE}\r\n",
    "NUL in a value": f"GET / HTTP/1.1\r\nHost: h\r\nX-N: a\x00b\r\n{CLOSE}\r\n",
    "bad name": f"GET / HTTP/1.1\r\nHost: h\r\nX(N): a\r\n{CLOSE}\r\n",
    "AWS JSON request": "POST / HTTP/1.1\r\nHost: localhost.localstack.cloud:4566\r\n"
    "X-Amz-Target: DynamoDB_20120810.GetItem\r\nContent-Type: application/x-amz-json-1.0\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/dynamodb/aws4_request\r\n"
    f"Content-Length: 2\r\n{CLOSE}\r\n{{}}",
}


@pytest.fixture(scope="module")
def answers() -> dict[str, dict[str, Any]]:
    script = Path(__file__).with_name("servers_side_by_side.py")
    run = subprocess.run(
        [str(Paths.from_env().localstack_python), str(script)],
        input=json.dumps(list(REQUESTS.values())),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(zip(REQUESTS, json.loads(run.stdout), strict=True))


@pytest.mark.parametrize("case", REQUESTS)
def test_the_same_request_gets_the_same_status_and_environment(
    answers: dict[str, dict[str, Any]], case: str
) -> None:
    twisted, threaded = answers[case]["twisted"], answers[case]["threaded"]
    assert threaded == twisted
