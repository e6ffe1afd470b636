"""docker-compose.yml, checked offline (no Docker engine here): the compose specification's
schema, and the settings the kit relies on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(COMPOSE.read_text())
    return data


def test_compose_file_matches_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_localstack_is_pinned_overridable_and_loopback_only() -> None:
    service = compose()["services"]["localstack"]
    assert service["image"] == "${LOCALSTACK_IMAGE:-localstack/localstack:4.14.0}"
    assert service["ports"] == ["127.0.0.1:${SKYBOOK_PORT:-4566}:4566"]
    assert "LOCALSTACK_AUTH_TOKEN" in service["environment"]


def test_lambda_containers_join_the_compose_network() -> None:
    data = compose()
    env = data["services"]["localstack"]["environment"]
    assert env["LAMBDA_DOCKER_NETWORK"] == f"{data['name']}_default"
    assert "/var/run/docker.sock:/var/run/docker.sock" in data["services"]["localstack"]["volumes"]


def test_ready_hook_is_mounted_and_exists() -> None:
    volumes = compose()["services"]["localstack"]["volumes"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in volumes}
    hook_dir = REPO / mounts["/etc/localstack/init/ready.d"]
    assert (hook_dir / "skybook.py").is_file()
    assert mounts["/opt/skybook"] == "."


def test_healthy_only_when_every_ready_hook_succeeded_with_time_to_deploy() -> None:
    check = compose()["services"]["localstack"]["healthcheck"]
    # The command itself runs against real LocalStack answers in tests/e2e/test_init_hook.py.
    assert check["test"] == ["CMD", "python3", "/opt/skybook/sandbox/init_status.py"]
    assert (REPO / "sandbox" / "init_status.py").is_file()
    assert int(check["start_period"].rstrip("s")) >= 120  # the first Lambda image pull


def test_lambda_images_follow_the_host_architecture() -> None:
    env = compose()["services"]["localstack"]["environment"]
    assert env["LAMBDA_IGNORE_ARCHITECTURE"] == "1"
