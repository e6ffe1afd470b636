"""Fixtures for the Lambda handler unit tests: a moto-backed table, bus and SES."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from common import aws, config
from moto import mock_aws

from tests.unit.functions.helpers import BUS, REGION, SENDER, TABLE, TEMPLATES_DIR, Bus, Context


@pytest.fixture
def context() -> Context:
    return Context()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, the handlers' env vars, a moto mock, and fresh cached clients."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "FAULT_INJECTION", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    aws.client.cache_clear()
    config.get.cache_clear()
    with mock_aws():
        yield
    aws.client.cache_clear()
    config.get.cache_clear()


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
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


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
