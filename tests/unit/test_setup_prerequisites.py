"""Missing prerequisites get a one-line explanation saying how to fix them, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import setup

REPO = Path(__file__).resolve().parents[2]


def fake_java(tmp_path: Path, version: str) -> Path:
    """A `java` on PATH that reports ``version`` like the real one (on stderr)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2020-01-01' >&2\n")
    java.chmod(0o755)
    return bin_dir


def test_no_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(setup.SetupError) as error:
        setup.java_home()
    assert "Java >= 17 is needed" in str(error.value)
    assert "apt-get install openjdk-17-jdk-headless" in str(error.value)
    assert "\n" not in str(error.value)


def test_old_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(fake_java(tmp_path, "11.0.2")))
    with pytest.raises(setup.SetupError) as error:
        setup.java_home()
    assert "found 11" in str(error.value)
    assert "\n" not in str(error.value)


def test_java_17_is_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(fake_java(tmp_path, "17.0.15")))
    assert setup.java_home() == tmp_path


def test_no_python_for_localstack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup, "find_interpreter", lambda version: None)
    with pytest.raises(setup.SetupError) as error:
        setup.find_localstack_python()
    message = str(error.value)
    assert "Python >= 3.12" in message
    assert "pyenv install 3.13" in message
    assert "\n" not in message


def test_setup_main_prints_one_line_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("SKYBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(setup, "find_interpreter", lambda version: None)
    assert setup.main([]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("setup: LocalStack 4.14 needs Python >= 3.12")
    assert len(err.splitlines()) == 1


def test_scripts_setup_refuses_an_old_python_in_one_line(tmp_path: Path) -> None:
    old = tmp_path / "python3"
    old.write_text("#!/bin/sh\nexit 1\n")  # answers 'too old' to the version check
    old.chmod(0o755)
    result = subprocess.run(
        [str(REPO / "scripts" / "setup")],
        env={**os.environ, "PYTHON": str(old)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("setup: the kit needs Python >= 3.11")
    assert len(result.stderr.strip().splitlines()) == 1


def fake_python(path: Path, major: int, minor: int) -> Path:
    """An interpreter that answers setup's version probe as Python ``major.minor`` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {major} {minor}\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    "where",
    [
        ".local/share/mise/installs/python/3.14.0/bin/python3.14",
        ".asdf/installs/python/3.14.1/bin/python3.14",
        ".local/share/uv/python/cpython-3.14.0-linux-x86_64-gnu/bin/python3.14",
        ".pyenv/versions/3.14.2/bin/python3.14",
    ],
)
def test_a_lambda_runtime_is_found_where_version_managers_keep_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    for var in ("PYENV_ROOT", "UV_PYTHON_INSTALL_DIR", "MISE_DATA_DIR", "ASDF_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent")
    python = fake_python(tmp_path / where, 3, 14)
    assert setup.find_interpreter("3.14") == python.resolve()


def test_a_lambda_runtime_can_be_listed_explicitly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent")
    wrong = fake_python(tmp_path / "a" / "python", 3, 12)
    right = fake_python(tmp_path / "b" / "python", 3, 14)
    monkeypatch.setenv(setup.LAMBDA_PYTHONS_ENV, f"{wrong}:{right}")
    assert setup.find_interpreter("3.14") == right.resolve()  # probed: the 3.12 one is skipped


def test_a_later_setup_keeps_the_interpreter_localstack_was_installed_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Another shell (no pyenv on PATH, PYENV_ROOT unset) must neither fail nor rebuild."""
    from sandbox.paths import Paths

    paths = Paths(tmp_path / "home")
    python = Path(os.path.realpath(sys.executable))
    paths.localstack_venv.mkdir(parents=True)
    (paths.localstack_venv / "pyvenv.cfg").write_text(f"home = x\nexecutable = {python}\n")
    monkeypatch.setattr(setup, "python_version", lambda exe: (3, 13))
    assert setup.installed_localstack_python(paths) == python.resolve()
    monkeypatch.setattr(setup, "python_version", lambda exe: (3, 11))  # too old: search again
    assert setup.installed_localstack_python(paths) is None
    assert setup.installed_localstack_python(Paths(tmp_path / "none")) is None
