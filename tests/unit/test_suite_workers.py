"""./scripts/test's two workers keep every test of a sandbox on one of them (tests/conftest.py):
checked on a small suite run the same way, so that a pytest or pytest-xdist upgrade that stops
honouring the groups (pytest 9.2 did) fails here instead of starting two sandboxes that race."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RECORD = """
import os
from pathlib import Path

def record(name):
    Path(name).write_text(os.environ["PYTEST_XDIST_WORKER"])
"""
CONFTEST = """
import pytest
from tests.conftest import _one_worker_for_the_sandbox

@pytest.fixture(scope="session")
def sandbox():
    return None

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    _one_worker_for_the_sandbox(items)
"""
TESTS = {
    "test_marked.py": "import pytest\nfrom record import record\npytestmark = pytest.mark.sandbox\n"
    + "".join(f"def test_m{i}():\n    record('marked-{i}')\n" for i in range(6)),
    "test_fixture.py": "from record import record\n"
    + "".join(f"def test_f{i}(sandbox):\n    record('fixture-{i}')\n" for i in range(6)),
    "test_free.py": "from record import record\n"
    + "".join(f"def test_x{i}():\n    record('free-{i}')\n" for i in range(12)),
}


def test_the_sandboxs_tests_share_one_worker_and_the_rest_spread(tmp_path: Path) -> None:
    (tmp_path / "record.py").write_text(RECORD)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    for name, text in TESTS.items():
        (tmp_path / name).write_text(text)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--dist",
            "loadgroup",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{REPO}:{tmp_path}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    workers = {path.name: path.read_text() for path in tmp_path.glob("*-*") if path.is_file()}
    sandbox = {w for name, w in workers.items() if not name.startswith("free")}
    assert len(workers) == 24
    assert len(sandbox) == 1  # one worker for every test of a sandbox
