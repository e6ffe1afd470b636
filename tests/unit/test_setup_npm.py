"""setup's npm installs keep the machine's npm configuration (registry, CA file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import setup


def fake_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str) -> None:
    """The only `npm` on PATH runs ``script``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(f"#!/bin/sh\n{script}\n")
    (bin_dir / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_npm_installs_inside_the_prefix_without_moving_the_global_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `npm --prefix P` reads its global config from P/etc/npmrc instead of the machine's, so a
    # CA file set there (as on machines behind a TLS-inspecting proxy) is lost.
    record = tmp_path / "npm-call"
    fake_npm(monkeypatch, tmp_path, f'echo "$PWD $*" > {record}')
    prefix = tmp_path / "tools" / "thing"

    setup.npm_install(prefix, "thing@1.0.0", "npm install thing")

    cwd, *args = record.read_text().split()
    assert Path(cwd) == prefix
    assert args[0] == "install" and args[-1] == "thing@1.0.0"
    assert not any(a.startswith(("--prefix", "--global", "-g")) for a in args)
    assert (prefix / "package.json").is_file()  # so npm takes prefix as the project folder


def test_a_failed_npm_install_is_a_setup_error_with_its_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_npm(monkeypatch, tmp_path, "echo 'npm error code E404' >&2; exit 1")

    with pytest.raises(setup.SetupError) as error:
        setup.npm_install(tmp_path / "p", "thing@1.0.0", "npm install thing")
    assert str(error.value) == "npm install thing failed (exit 1):\nnpm error code E404"
