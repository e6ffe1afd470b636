"""The testcontainers LocalStack, configured but not started (no Docker engine here)."""

from __future__ import annotations

import sys
import types

import pytest

from tests.docker_sandbox import (
    LAMBDA_NETWORK,
    REPO,
    build_container,
    compose_service,
    container_spec,
    interpolate,
    localstack_container_class,
)

pytest.importorskip("testcontainers", reason="the [docker] extra is not installed")
API_VERSION = {"version": "1.44"}  # pinned, so building the container asks no engine


def test_interpolates_like_compose() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d}/${EMPTY:-d}/${UNSET:-d}/${UNSET}", env) == "x/d/d/"


def test_runs_what_compose_runs_on_a_network_lambda_containers_can_join() -> None:
    spec = container_spec({"LOCALSTACK_AUTH_TOKEN": "tok"})
    compose_env = compose_service()["environment"]
    assert spec.image == "localstack/localstack:4.14.0"
    assert spec.env["LAMBDA_DOCKER_NETWORK"] == LAMBDA_NETWORK
    assert spec.env["LOCALSTACK_AUTH_TOKEN"] == "tok"
    for key in ("SERVICES", "LAMBDA_IGNORE_ARCHITECTURE", "SKYBOOK_ENDPOINT"):
        assert spec.env[key] == str(compose_env[key])
    assert spec.volumes == [
        ("/var/run/docker.sock", "/var/run/docker.sock", "rw"),
        (str(REPO / "docker" / "ready.d"), "/etc/localstack/init/ready.d", "ro"),
        (str(REPO), "/opt/skybook", "ro"),
    ]


def test_the_image_can_be_overridden_as_in_compose() -> None:
    assert container_spec({"LOCALSTACK_IMAGE": "mirror/ls:4.14.0"}).image == "mirror/ls:4.14.0"


def test_the_container_gets_the_socket_the_hook_and_the_pinned_image() -> None:
    container = build_container(container_spec({}), **API_VERSION)
    assert container.image.endswith("localstack/localstack:4.14.0")
    assert container.volumes["/var/run/docker.sock"] == {
        "bind": "/var/run/docker.sock",
        "mode": "rw",
    }
    assert container.volumes[str(REPO)]["bind"] == "/opt/skybook"
    assert container.env["LAMBDA_DOCKER_NETWORK"] == LAMBDA_NETWORK
    assert container.env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_the_old_import_path_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    """testcontainers < 4.15 has only ``testcontainers.localstack``."""
    old = types.ModuleType("testcontainers.localstack")
    old.LocalStackContainer = type("LocalStackContainer", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "testcontainers.community.localstack", None)
    monkeypatch.setitem(sys.modules, "testcontainers.localstack", old)
    assert localstack_container_class() is old.LocalStackContainer
