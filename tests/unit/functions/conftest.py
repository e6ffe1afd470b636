"""Fixtures for the Lambda handler unit tests: a moto-backed table, bus and SES."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from common import config

from bootstrap.stack import load_templates
from tests.unit.functions.helpers import (
    FUNCTIONS_DIR,
    REGION,
    SENDER,
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
    """SES with the sender verified and the templates created from the manifest, as
    bootstrap reads it."""
    client = boto3.client("ses", region_name=REGION)
    client.verify_email_identity(EmailAddress=SENDER)
    for template in load_templates(FUNCTIONS_DIR):
        client.create_template(
            Template={
                "TemplateName": template.name,
                "SubjectPart": template.subject,
                "HtmlPart": template.html,
                "TextPart": template.text,
            }
        )
    return client
