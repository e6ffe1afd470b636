"""The HTTP helper: every answer comes back (a 4xx/5xx too), no answer is Unreachable."""

from __future__ import annotations

import socket

import pytest

from skybook.httpclient import Answer, Unreachable, post_json, request
from tests.unit.skybook.conftest import FakeHttp


def test_an_error_status_is_an_answer_not_an_exception(fake_http: FakeHttp) -> None:
    fake_http.json("/refused", {"message": "Not enough seats"}, status=400)
    answer = request(f"{fake_http.url}/refused")
    assert (answer.status, answer.body, answer.message) == (
        400,
        {"message": "Not enough seats"},
        "Not enough seats",
    )
    assert answer.headers["Content-Type"] == "application/json"
    assert request(f"{fake_http.url}/nowhere").status == 404


def test_post_json_sends_json_or_the_bytes_given(fake_http: FakeHttp) -> None:
    fake_http.routes["/book"] = lambda method, body: (200, "application/json", body)
    answer = post_json(f"{fake_http.url}/book", {"destination": "LHR"})
    assert answer.body == {"destination": "LHR"}
    assert post_json(f"{fake_http.url}/book", b"{not json").status == 200
    method, _, sent = fake_http.requests[-1]
    assert (method, sent) == ("POST", b"{not json")


@pytest.mark.parametrize(
    ("raw", "body", "message"),
    [
        (b"", {}, ""),
        (b'{"bookingId": "b"}', {"bookingId": "b"}, ""),
        (b"[1, 2]", {"_raw": "[1, 2]"}, "[1, 2]"),
        (b"Bad Gateway", {"_raw": "Bad Gateway"}, "Bad Gateway"),
        (b"x" * 500, {"_raw": "x" * 200}, "x" * 200),
    ],
)
def test_body_and_message_of_any_answer(raw: bytes, body: dict[str, str], message: str) -> None:
    answer = Answer(502, raw)
    assert (answer.body, answer.message) == (body, message)


def test_json_raises_on_what_is_not_json() -> None:
    assert Answer(200, b'["a"]').json() == ["a"]
    with pytest.raises(ValueError):
        Answer(200, b"<html>").json()


def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as bound:  # bound, not listening: refused, and the port stays ours
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/"
        with pytest.raises(Unreachable) as error:
            request(url, timeout=5)
    assert isinstance(error.value.reason, ConnectionRefusedError)
    assert not error.value.timed_out


def test_no_answer_in_time_is_unreachable_and_timed_out() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(Unreachable) as error:
            request(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.2)
    assert error.value.timed_out
