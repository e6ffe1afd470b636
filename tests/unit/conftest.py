"""Speed-ups of the unit tests that change nothing they assert."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import botocore.loaders
import botocore.session
import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_botocore_loader() -> Iterator[None]:
    """Every boto3 session of the tests shares one loader of botocore's service models.

    Each new session (every ``Target``) would otherwise parse the same large JSON models
    again; the loader only reads files that do not change during a run."""
    original = botocore.session.create_loader
    botocore.session.create_loader = functools.cache(original)
    yield
    botocore.session.create_loader = original


@pytest.fixture
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore still retries as configured, but without its exponential waits (seconds
    when nothing answers): for tests of what the user reads once the retries give up."""
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0
    )
