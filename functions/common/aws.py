"""boto3 clients, created once per execution environment and reused across invocations.

boto3 picks up region, credentials and ``AWS_ENDPOINT_URL`` (LocalStack) from the
environment, so nothing here is specific to a target.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

# Keep retries bounded: an API request must answer well within API Gateway's timeout.
_BOTO_CONFIG = BotoConfig(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10
)


@functools.cache
def client(service: str) -> Any:
    """A cached low-level client (tests call ``client.cache_clear`` between moto mocks)."""
    return boto3.client(service, config=_BOTO_CONFIG)  # type: ignore[call-overload]


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError``, or ``""`` for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
