"""Errors the user can act on, and the one-line messages for them.

Everything the deployer raises on purpose is a :class:`DeployError`; AWS and connection
errors are turned into one at the public entry points, so callers (the CLIs, ``skybook
up``) catch a single type and print ``str(error)``.
"""

from __future__ import annotations

import botocore.exceptions


class DeployError(RuntimeError):
    """A problem the user can act on; ``str()`` is a one-line message naming the fix."""


def friendly_message(error: BaseException, unreachable: str) -> str | None:
    """A one-line message for an error the user can act on; None means a bug."""
    if isinstance(error, DeployError):
        return str(error)
    if isinstance(error, TimeoutError):
        return f"{error}: the target is slow or stuck; run the command again"
    if isinstance(error, botocore.exceptions.EndpointConnectionError | ConnectionError):
        return unreachable
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found: pass --profile P or --endpoint URL"
    if isinstance(error, botocore.exceptions.ClientError):
        info = error.response.get("Error", {})
        code, text = info.get("Code", "?"), info.get("Message", "")
        operation = getattr(error, "operation_name", "a call")
        hint = (
            "the credentials lack this permission"
            if "AccessDenied" in code or "Unauthorized" in code
            else "'python -m bootstrap plan' shows the intended change"
        )
        return f"{operation} failed: {code}: {text} ({hint})"
    return None
