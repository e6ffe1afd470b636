"""LocalStack in Docker for the test suite, via testcontainers (``SKYBOOK_TEST_DOCKER=1``).

The container is configured from docker-compose.yml itself (image, environment, the kit and
its ready.d hook mounted, the Docker socket for Lambda containers), so the tests run exactly
what ``docker compose up`` runs. Only what a throwaway container needs differs: a random host
port, and the default ``bridge`` network for Lambda containers (no compose network exists).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from sandbox.init_status import FAILED, HEALTHY, read_status

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
SERVICE = "localstack"
GATEWAY_PORT = 4566
LAMBDA_NETWORK = "bridge"
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ``${NAME}`` / ``${NAME:-default}``, as ``docker compose`` substitutes them."""
    return _VARIABLE.sub(lambda m: environ.get(m.group(1)) or (m.group(2) or ""), value)


@dataclass(frozen=True)
class ContainerSpec:
    """What the LocalStack container runs with, read from docker-compose.yml."""

    image: str
    env: dict[str, str]
    volumes: list[tuple[str, str, str]]  # host path, container path, mode
    healthcheck: list[str] = field(default_factory=list)


def compose_service() -> dict[str, Any]:
    service: dict[str, Any] = YAML(typ="safe").load(COMPOSE_FILE.read_text())["services"][SERVICE]
    return service


def container_spec(environ: dict[str, str] | None = None) -> ContainerSpec:
    environ = dict(os.environ if environ is None else environ)
    service = compose_service()
    env = {k: interpolate(str(v), environ) for k, v in service["environment"].items()}
    env["LAMBDA_DOCKER_NETWORK"] = LAMBDA_NETWORK
    volumes = []
    for volume in service["volumes"]:
        host, container, *mode = volume.split(":")
        host_path = str((REPO / host).resolve()) if host.startswith(".") else host
        volumes.append((host_path, container, mode[0] if mode else "rw"))
    return ContainerSpec(
        image=interpolate(service["image"], environ),
        env=env,
        volumes=volumes,
        healthcheck=list(service["healthcheck"]["test"]),
    )


def localstack_container_class() -> Any:
    """testcontainers' LocalStack container, at its new (>= 4.15) or old import path."""
    try:
        from testcontainers.community.localstack import LocalStackContainer
    except ImportError:
        try:
            from testcontainers.localstack import LocalStackContainer
        except ImportError:
            raise RuntimeError(
                "SKYBOOK_TEST_DOCKER=1 needs testcontainers: pip install -e '.[docker]'"
            ) from None
    return LocalStackContainer


def build_container(spec: ContainerSpec, **docker_client_kw: Any) -> Any:
    """The configured, not yet started container (building it needs no engine when
    ``docker_client_kw`` pins an API ``version``)."""
    container = localstack_container_class()(
        image=spec.image,
        edge_port=GATEWAY_PORT,
        region_name="us-east-1",
        docker_client_kw=docker_client_kw or None,
    )
    for key, value in spec.env.items():
        container.with_env(key, value)
    for host, path, mode in spec.volumes:
        container.with_volume_mapping(host, path, mode)
    return container


def wait_healthy(url: str, logs: Any, timeout: float = 300.0) -> None:
    """Poll the init hooks until all succeeded; fail at once, with the log's tail, on ERROR."""
    deadline = time.monotonic() + timeout
    while True:
        status = read_status(url)
        if status.code == HEALTHY:
            return
        if status.code == FAILED or time.monotonic() > deadline:
            raise RuntimeError(f"{status.describe()}\n--- LocalStack log (tail) ---\n{logs()}")
        time.sleep(1.0)


def docker_sandbox() -> Iterator[str]:
    """Start the container, wait until the app is deployed, yield its endpoint, remove it."""
    with build_container(container_spec()) as container:
        url = container.get_url()

        def logs() -> str:
            out, err = container.get_logs()
            return "\n".join((out + err).decode(errors="replace").splitlines()[-40:])

        wait_healthy(url, logs)
        yield url
