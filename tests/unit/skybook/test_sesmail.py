"""Reading and clearing a sandbox's captured mail (``/_aws/ses``), against a fake page."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from skybook import sesmail
from tests.unit.skybook.conftest import FakeHttp


def message(id_: str, *to: str) -> dict[str, Any]:
    return {"Id": id_, "Destination": {"ToAddresses": list(to)}, "Template": "t"}


def test_messages_and_those_to_one_address_without_case(fake_http: FakeHttp) -> None:
    mail = [message("1", "a@example.com"), message("2", "B@example.com", "c@example.com")]
    fake_http.json("/_aws/ses", {"messages": mail})
    assert sesmail.messages(fake_http.url + "/") == mail
    assert sesmail.addressed_to(fake_http.url, "b@EXAMPLE.com") == [mail[1]]
    assert sesmail.recipients(mail[1]) == ["B@example.com", "c@example.com"]
    assert sesmail.recipients({}) == []


def test_clear_deletes_all_or_the_ids_given(fake_http: FakeHttp) -> None:
    fake_http.json("/_aws/ses", {"messages": [message("1"), message("2")]})
    fake_http.routes["/_aws/ses?id=3"] = lambda _method, _body: (204, "text/plain", b"")
    assert sesmail.clear(fake_http.url) == 2
    assert sesmail.clear(fake_http.url, ["3"]) == 1
    deletes = [(m, p) for m, p, _ in fake_http.requests if m == "DELETE"]
    assert deletes == [("DELETE", "/_aws/ses"), ("DELETE", "/_aws/ses?id=3")]


def test_a_page_that_is_not_localstacks_is_one_line(fake_http: FakeHttp) -> None:
    with pytest.raises(sesmail.MailError, match="answered 404: is this a LocalStack sandbox"):
        sesmail.messages(fake_http.url)
    fake_http.json("/_aws/ses", {"something": "else"})
    with pytest.raises(sesmail.MailError, match="answered 200"):
        sesmail.messages(fake_http.url)
    with pytest.raises(sesmail.MailError, match="answered 404"):
        sesmail.clear(fake_http.url, ["9"])


def test_no_sandbox_is_one_line() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with pytest.raises(sesmail.MailError, match=f"no sandbox answers at {endpoint}"):
        sesmail.messages(endpoint)
