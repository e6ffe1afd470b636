"""The compose path without Docker: the ready.d hook run by LocalStack's own init runner, and
docker-compose.yml's exact healthcheck command against LocalStack's real init answers.

Each test starts its own embedded LocalStack with ``docker/ready.d/skybook.py`` in
``<FILESYSTEM_ROOT>/etc/localstack/init/ready.d`` (where host-mode LocalStack looks, as the
image looks in ``/etc/localstack/init/ready.d``). LocalStack then runs the hook inside its own
process, with its own Python and packages, and the kit's source at a separate path, as the
compose file mounts it at /opt/skybook. What only a Docker engine can show (the image's own
Python, Lambda containers, compose's --wait) is listed in README's Docker section.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from sandbox.init_status import PENDING, InitStatus, read_status
from sandbox.runner import Sandbox, free_port, temporary_sandbox
from skybook.app import example_booking
from tests.conftest import SandboxUnderTest
from tests.e2e.conftest import REPO, run_skybook, start_skybook

pytestmark = pytest.mark.sandbox

HOOK = REPO / "docker" / "ready.d" / "skybook.py"
MOUNT = "/opt/skybook"  # where docker-compose.yml mounts the kit
SOURCE_PARTS = ("bootstrap", "skybook", "sandbox", "functions", "docker")


@pytest.fixture(autouse=True)
def _embedded_only(sandbox: SandboxUnderTest) -> None:
    if sandbox.kind != "embedded":
        pytest.skip("starts its own embedded LocalStack")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """The kit's source at another path, as the container sees its /opt/skybook mount."""
    into = tmp_path / "opt-skybook"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in SOURCE_PARTS:
        shutil.copytree(REPO / part, into / part, ignore=ignore)
    return into


def break_the_kit(source: Path) -> None:
    """Remove the SES template manifest, so bootstrap refuses to deploy."""
    (source / "functions" / "send_booking_receipt" / "templates" / "templates.json").unlink()


def healthcheck_command(source: Path) -> list[str]:
    """docker-compose.yml's healthcheck, verbatim but for the mount point of the kit."""
    compose = YAML(typ="safe").load((REPO / "docker-compose.yml").read_text())
    test = compose["services"]["localstack"]["healthcheck"]["test"]
    assert test[0] == "CMD", "the healthcheck runs a command, not a shell string"
    return [part.replace(MOUNT, str(source)) for part in test[1:]]


def run_healthcheck(source: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    # The container sets SKYBOOK_ENDPOINT=http://localhost:4566; this LocalStack has its own port.
    return subprocess.run(
        healthcheck_command(source),
        env={"PATH": "/usr/bin:/bin", "SKYBOOK_ENDPOINT": endpoint},
        capture_output=True,
        text=True,
        timeout=30,
    )


def settled(sandbox: Sandbox, timeout: float = 180.0) -> InitStatus:
    """The ready stage's status once no hook is still running."""
    deadline = time.monotonic() + timeout
    while (status := read_status(sandbox.endpoint)).code == PENDING:
        assert time.monotonic() < deadline, f"{status.describe()}\n{sandbox.log_tail(40)}"
        time.sleep(0.2)
    return status


def start_with_hook(source: Path, tmp_path: Path) -> AbstractContextManager[Sandbox]:
    """An embedded LocalStack that runs the ready.d hook on ``source``, a copy of the kit."""
    return temporary_sandbox(
        "hook",
        init_hooks={"ready": (source / "docker" / "ready.d" / "skybook.py",)},
        extra_env={
            "SKYBOOK_SOURCE": str(source),
            "SKYBOOK_OUTPUTS_FILE": str(tmp_path / "outputs.json"),
        },
    )


@pytest.mark.slow
def test_the_hook_deploys_the_app_and_the_healthcheck_passes(tmp_path: Path, source: Path) -> None:
    with start_with_hook(source, tmp_path) as sandbox:
        status = settled(sandbox)
        assert status.scripts == {"skybook.py": "SUCCESSFUL"}, sandbox.log_tail(40)

        result = run_healthcheck(source, sandbox.endpoint)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "succeeded (skybook.py)" in result.stdout

        log = sandbox.log_file.read_text(errors="replace")
        assert f"skybook: app deployed from {source}" in log  # the copy, not the repo
        # What a user has after `docker compose up`: an endpoint, nothing on disk.
        home = {**os.environ, "SKYBOOK_HOME": str(tmp_path / "empty-home")}
        for name in ("SKYBOOK_ENDPOINT", "SKYBOOK_SANDBOX"):
            home.pop(name, None)
        check_the_cli_works_against(sandbox.endpoint, home)


def check_the_cli_works_against(endpoint: str, env: dict[str, str]) -> None:
    """flights, book --wait, inbox, logs, events, dlq and the console, with --endpoint only."""

    def run(*args: str) -> str:
        result = run_skybook(*args, "--endpoint", endpoint, env=env)
        assert result.returncode == 0, f"skybook {' '.join(args)}: {result.stderr}"
        return result.stdout

    today = example_booking()["flightDate"]
    flights = json.loads(run("flights", "--to", "LHR", "--date", today, "--json"))
    assert [f["seatsLeft"] for f in flights] == [2]  # seeded by the hook
    booked = json.loads(
        run(
            "book",
            "--to",
            "LHR",
            "--date",
            today,
            "--email",
            "hook@example.com",
            "--wait",
            "--json",
        )
    )
    booking_id = booked["booking"]["id"]
    assert booked["booking"]["status"] == "CONFIRMED"
    assert booked["email"]["subject"] == "Your flight to LHR was booked!"
    assert "Your flight to LHR was booked!" in run("inbox", "--to", "hook@example.com")
    assert booking_id in run("logs", "registerBooking", "--booking", booking_id)
    assert booking_id in run("events", "--booking", booking_id)
    assert json.loads(run("dlq", "list", "--json")) == []

    console = start_skybook("console", "--port", "0", "--endpoint", endpoint, env=env)
    try:
        assert console.stdout is not None
        url = console.stdout.readline().split()[1]  # "console: http://127.0.0.1:P/ ..."
        with urllib.request.urlopen(f"{url}api/bookings", timeout=30) as answer:
            assert booking_id in {b["id"] for b in json.load(answer)["bookings"]}
    finally:
        console.terminate()
        console.wait(timeout=10)


@pytest.mark.slow
def test_a_failed_deploy_makes_the_healthcheck_fail_and_say_why(
    tmp_path: Path, source: Path
) -> None:
    break_the_kit(source)
    with start_with_hook(source, tmp_path) as sandbox:
        status = settled(sandbox)
        # LocalStack calls the stage completed although its only hook failed.
        assert status.completed
        assert status.scripts == {"skybook.py": "ERROR"}

        result = run_healthcheck(source, sandbox.endpoint)
        assert result.returncode == 1
        assert "init hook skybook.py (READY stage) failed" in result.stdout
        assert "templates.json not found" in sandbox.log_file.read_text(errors="replace")


def test_the_healthcheck_is_unhealthy_while_localstack_is_down(source: Path) -> None:
    result = run_healthcheck(source, f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "not answering" in result.stdout


# --- skybook up --docker, with a stand-in `docker` CLI in front of a real LocalStack ---------
# No Docker engine here: a fake `docker` records what it is asked and plays compose (up,
# logs, ps, down), while the LocalStack whose hook deployed the app is a real embedded one,
# published on the port `up --docker --port` asks compose for.

FAKE_DOCKER = r"""#!/usr/bin/env python3
import json, os, signal, sys, time
calls = os.environ["FAKE_DOCKER_CALLS"]
args = sys.argv[1:]
with open(calls, "a") as f:
    f.write(json.dumps({"args": args, "port": os.environ.get("SKYBOOK_PORT")}) + "\n")
if args == ["info"]:
    sys.exit(int(os.environ.get("FAKE_DOCKER_INFO_EXIT", "0")))
if args[:1] == ["compose"] and "logs" in args:
    if "--follow" in args:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(1)
    print("localstack-1  | fake log line from the container")
elif args[:1] == ["compose"] and "ps" in args:
    print("c0ffee" if os.path.exists(calls + ".up") else "")
elif args[:1] == ["compose"] and "up" in args:
    open(calls + ".up", "w").close()
elif args[:1] == ["compose"] and "down" in args:
    if os.path.exists(calls + ".up"):
        os.remove(calls + ".up")
"""


@pytest.fixture
def fake_docker(tmp_path: Path) -> dict[str, str]:
    """The environment that puts the fake `docker` first on PATH, with a scratch kit home."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_DOCKER_CALLS": str(tmp_path / "calls.jsonl"),
        "SKYBOOK_HOME": str(tmp_path / "home"),
    }


def docker_calls(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["FAKE_DOCKER_CALLS"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def compose_commands(env: dict[str, str]) -> list[str]:
    """The compose subcommands run, e.g. ['version', 'up', 'down']."""
    found = []
    for call in docker_calls(env):
        args = call["args"]
        if args[:1] == ["compose"]:
            rest = [a for a in args[1:] if a != "--file" and not a.endswith(".yml")]
            found.append(rest[0])
    return found


@pytest.mark.slow
def test_up_docker_detached_waits_for_the_hook_and_down_removes_it(
    tmp_path: Path, source: Path, fake_docker: dict[str, str]
) -> None:
    with start_with_hook(source, tmp_path) as localstack:
        port = str(localstack.settings.port)
        result = run_skybook(
            "up", "--docker", "--detach", "--port", port, "--no-console", env=fake_docker
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ready init hooks succeeded (skybook.py)" in result.stderr
        assert f"POST http://127.0.0.1:{port}/_aws/execute-api/" in result.stdout
        up_call = next(c for c in docker_calls(fake_docker) if "up" in c["args"])
        assert up_call["args"][-2:] == ["up", "--detach"]
        assert up_call["args"][2] == str(REPO / "docker-compose.yml")
        assert up_call["port"] == port  # compose publishes LocalStack on the asked port

        down = run_skybook("down", env=fake_docker)
        assert down.returncode == 0, down.stderr
        assert "LocalStack in Docker stopped" in down.stdout
        assert compose_commands(fake_docker)[-1] == "down", compose_commands(fake_docker)


def test_up_docker_fails_and_says_why_when_the_hook_failed(
    tmp_path: Path, source: Path, fake_docker: dict[str, str]
) -> None:
    break_the_kit(source)
    with start_with_hook(source, tmp_path) as localstack:
        port = str(localstack.settings.port)
        result = run_skybook("up", "--docker", "--detach", "--port", port, env=fake_docker)
        assert result.returncode == 1
        assert "init hook skybook.py (READY stage) failed" in result.stderr
        assert "fake log line from the container" in result.stderr  # the log's tail
        assert "Traceback" not in result.stderr
        assert compose_commands(fake_docker)[-1] == "down"  # nothing left running


@pytest.mark.slow
def test_up_docker_in_the_foreground_stops_on_ctrl_c(
    tmp_path: Path, source: Path, fake_docker: dict[str, str]
) -> None:
    with start_with_hook(source, tmp_path) as localstack:
        port = str(localstack.settings.port)
        process = start_skybook("up", "--docker", "--no-console", "--port", port, env=fake_docker)
        try:
            assert process.stderr is not None
            for line in process.stderr:
                if "Ctrl-C stops it" in line:
                    break
            else:
                raise AssertionError(f"up --docker ended early: {process.wait()}")
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()
            process.wait()
        assert compose_commands(fake_docker)[-1] == "down", compose_commands(fake_docker)


def test_up_docker_without_an_engine_is_one_line(fake_docker: dict[str, str]) -> None:
    result = run_skybook("up", "--docker", env={**fake_docker, "FAKE_DOCKER_INFO_EXIT": "1"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "skybook: no Docker engine is reachable (docker info failed): start Docker, or drop "
        "--docker to run the embedded sandbox"
    ]
