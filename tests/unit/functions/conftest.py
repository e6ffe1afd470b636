"""Fixtures for the Lambda handler unit tests: a moto-backed table, bus and SES."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from common import config

from tests.unit.functions.helpers import (
    REGION,
    SENDER,
    TEMPLATES_DIR,
    Bus,
    Context,
    create_table,
    handler_env,
)


@pytest.fixture
def context() -> Context:
    return Context()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The handlers' environment on moto (:func:`handler_env`)."""
    with handler_env(monkeypatch):
        yield


@pytest.fixture
def set_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Change env vars after the fact (config is cached per cold start, so clear it)."""

    def _set(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        config.get.cache_clear()

    return _set


@pytest.fixture
def ddb(aws_env: None) -> Any:
    return create_table()


@pytest.fixture
def bus(aws_env: None) -> Bus:
    return Bus()


@pytest.fixture
def ses(aws_env: None) -> Any:
    """SES with the sender verified and the templates created from the manifest."""
    client = boto3.client("ses", region_name=REGION)
    client.verify_email_identity(EmailAddress=SENDER)
    for entry in json.loads((TEMPLATES_DIR / "templates.json").read_text()):
        client.create_template(
            Template={
                "TemplateName": entry["name"],
                "SubjectPart": entry["subject"],
                "HtmlPart": (TEMPLATES_DIR / entry["html"]).read_text(),
                "TextPart": (TEMPLATES_DIR / entry["text"]).read_text(),
            }
        )
    return client
