"""The booking app on a sandbox: deploy it with bootstrap, seed flights, say how to use it."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Deploying or reading the app failed; the message says why."""


def deploy_app(endpoint: str) -> dict[str, Any]:
    """Deploy (idempotently) and seed the app on the sandbox at ``endpoint``; return outputs."""
    return {}


def describe_app(endpoint: str) -> dict[str, Any]:
    return {"lines": []}


def print_welcome(endpoint: str, outputs: dict[str, Any]) -> None:
    print(f"endpoint: {endpoint}")
