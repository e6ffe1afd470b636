"""Helpers for driving the process executor from the outside: zips, invokes, polls."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skybook import polling
from tests.conftest import pid_alive

__all__ = ["pid_alive"]  # re-exported: the executor tests import their helpers from here

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import InvocationResponseTypeDef

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
EXECUTOR_DIR = Path(__file__).resolve().parents[2] / "sandbox" / "lambda_executor"
RUNTIME_PY = EXECUTOR_DIR / "var_runtime" / "runtime.py"


def zip_of(files: dict[str, str], modes: dict[str, int] | None = None) -> bytes:
    """A zip of ``files`` (name -> source, dedented); ``modes`` sets unix permissions."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, source in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (modes or {}).get(name, 0o644) << 16
            z.writestr(info, textwrap.dedent(source))
    return buf.getvalue()


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    failure = AssertionError(f"timed out waiting for {what}")
    return polling.wait_for(check, timeout=timeout, interval=0.05, error=failure)


def wait_active(lam: LambdaClient, name: str) -> None:
    wait_until(
        lambda: lam.get_function(FunctionName=name)["Configuration"]["State"] == "Active",
        what=f"{name} Active",
    )


def create_python_function(lam: LambdaClient, name: str, source: str, **config: Any) -> None:
    """A python3.13 function whose ``app.py`` is ``source`` (handler ``app.handler``), Active
    when this returns; ``config`` adds to ``CreateFunction``'s parameters."""
    lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": zip_of({"app.py": source})},
        **config,
    )
    wait_active(lam, name)


def invoke(
    lam: LambdaClient, name: str, event: Any = None, **kwargs: Any
) -> tuple[Any, InvocationResponseTypeDef]:
    """Synchronous invoke: (decoded payload, raw response)."""
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs)
    return json.loads(response["Payload"].read()), response


def function_updated(lam: LambdaClient, name: str) -> Callable[[], bool]:
    """A check for ``wait_until``: the function's last update is done."""
    return lambda: (
        lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus") == "Successful"
    )
