"""LocalStack init hook (ready stage): deploy and seed the booking app, as ``skybook up`` does.

LocalStack runs this file itself, inside its own process (its Python, its boto3), once its
services are ready. docker-compose.yml mounts it at /etc/localstack/init/ready.d and the kit at
/opt/skybook; the tests hand it to an embedded LocalStack the same way (its
``<FILESYSTEM_ROOT>/etc/localstack/init/ready.d``), with the kit's source at another path.
An exception marks the hook ``ERROR`` in ``/_localstack/init/ready``, which the healthcheck
(``sandbox/init_status.py``) reports as unhealthy, and its traceback is in LocalStack's log.
"""

import os
import sys

source = os.environ.get("SKYBOOK_SOURCE", "/opt/skybook")
sys.path.insert(0, source)

from skybook.app import deploy_app  # noqa: E402  (importable only once the source is on the path)


def _endpoint() -> str:
    """``$SKYBOOK_ENDPOINT``, else the gateway this LocalStack listens on."""
    if explicit := os.environ.get("SKYBOOK_ENDPOINT"):
        return explicit
    listen = os.environ.get("GATEWAY_LISTEN", "").split(",")[0]
    host, _, port = listen.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "localhost"
    return f"http://{host}:{port or 4566}"


# Progress lines go to LocalStack's log (``docker compose logs localstack``).
outputs = deploy_app(
    _endpoint(),
    outputs_file=os.environ.get("SKYBOOK_OUTPUTS_FILE", "/tmp/skybook-outputs.json"),
)
print(f"skybook: app deployed from {source}, book at {outputs.get('bookFlightUrl')}", flush=True)
