"""Fixtures: a mocked AWS account (moto), a fake functions folder, recorded API calls."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bootstrap.settings import Settings
from bootstrap.target import Target

READ_PREFIXES = ("Get", "List", "Describe")


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell holds, these tests never reach a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def write_function(root: Path, code_dir: str, body: str = "") -> None:
    folder = root / code_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(
        f"from common import helper\n\n\ndef handler(event, context):\n    return {body!r}\n"
    )


@pytest.fixture
def functions_dir(tmp_path: Path) -> Path:
    """A stand-in for functions/: four trivial handlers, a common module and templates."""
    root = tmp_path / "functions"
    for code_dir in ("book_flight", "register_booking", "send_booking_receipt", "sync_flights"):
        write_function(root, code_dir)
    (root / "common").mkdir()
    (root / "common" / "__init__.py").write_text("")
    (root / "common" / "helper.py").write_text("VALUE = 1\n")
    templates = root / "send_booking_receipt" / "templates"
    templates.mkdir()
    for name in ("receipt", "rejected"):
        (templates / f"{name}.html").write_text(f"<p>{name} {{{{destination}}}}</p>")
        (templates / f"{name}.txt").write_text(f"{name} {{{{destination}}}}")
    manifest = [
        {
            "name": "bookingReceiptTemplate",
            "subject": "Your flight to {{destination}} was booked!",
            "html": "receipt.html",
            "text": "receipt.txt",
        },
        {
            "name": "bookingRejectedTemplate",
            "subject": "We could not book your flight to {{destination}}",
            "html": "rejected.html",
            "text": "rejected.txt",
        },
    ]
    (templates / "templates.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture
def settings(functions_dir: Path, tmp_path: Path) -> Settings:
    return Settings(functions_dir=functions_dir, outputs_file=tmp_path / "out" / "outputs.json")


def _polling() -> bool:
    """True when the current API call is a poll of a botocore waiter: how often a wait
    polls is not part of the plan."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        path = Path(code.co_filename)
        if (code.co_name, path.parent.name, path.name) == ("wait", "botocore", "waiter.py"):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


class CallRecorder:
    """Every API call made through the target's clients, as (service, operation); ``polls``
    are the calls that a wait made (also in ``calls``), as (service, operation)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.polls: list[tuple[str, str]] = []

    def __call__(self, model: object, **_: object) -> None:
        service = model.service_model.service_name  # type: ignore[attr-defined]
        call = (service, model.name)  # type: ignore[attr-defined]
        self.calls.append(call)
        if _polling():
            self.polls.append(call)

    @property
    def mutating(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if not c[1].startswith(READ_PREFIXES)]

    def clear(self) -> None:
        self.calls.clear()
        self.polls.clear()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def recorder() -> CallRecorder:
    return CallRecorder()


@pytest.fixture
def target(aws: None, recorder: CallRecorder) -> Target:
    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-call", recorder)
    return Target(region="us-east-1", session=session)


class FakeTime:
    """A clock that only moves when something sleeps: retries and waits run instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    @property
    def options(self) -> dict[str, Any]:
        """``sleep`` and ``clock`` as keyword arguments for deploy/destroy/Executor."""
        return {"sleep": self.sleep, "clock": self.clock}


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
