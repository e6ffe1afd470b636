"""Sandbox settings from the environment: bad values are one-line errors, not tracebacks."""

from __future__ import annotations

import pytest

from sandbox.runner import SandboxError, SandboxSettings


def test_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYBOOK_PORT", "4599")
    monkeypatch.setenv("SKYBOOK_SANDBOX", "dev-1")
    settings = SandboxSettings.from_env()
    assert (settings.name, settings.port, settings.endpoint) == (
        "dev-1",
        4599,
        "http://127.0.0.1:4599",
    )
    assert SandboxSettings.from_env(port=4600).port == 4600
    assert SandboxSettings.from_env().cpu_split
    monkeypatch.setenv("SKYBOOK_CPU_SPLIT", "0")
    assert not SandboxSettings.from_env().cpu_split


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SKYBOOK_PORT", "abc", "SKYBOOK_PORT='abc' is not a port number"),
        ("SKYBOOK_PORT", "70000", "port 70000 is out of range"),
        ("SKYBOOK_SANDBOX", "../..", "sandbox name '../..' is invalid"),
        ("SKYBOOK_SANDBOX", "a b", "sandbox name 'a b' is invalid"),
        ("SKYBOOK_CPU_SPLIT", "yes", "SKYBOOK_CPU_SPLIT='yes' is not 0 or 1: use 1"),
    ],
)
def test_bad_values_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SandboxError) as error:
        SandboxSettings.from_env()
    assert message in str(error.value)
    assert "\n" not in str(error.value)
