"""LocalStack init hook (ready stage): deploy and seed the booking app, as ``./scripts/up`` does.

docker-compose.yml mounts the repo at /opt/skybook; this runs on LocalStack's own Python, which
has boto3. The tests run this very file against the embedded sandbox.
"""

import os
import sys

sys.path.insert(0, os.environ.get("SKYBOOK_SOURCE", "/opt/skybook"))

from skybook.app import deploy_app

endpoint = os.environ.get("SKYBOOK_ENDPOINT", "http://localhost:4566")
outputs = deploy_app(
    endpoint, outputs_file=os.environ.get("SKYBOOK_OUTPUTS_FILE", "/tmp/skybook-outputs.json")
)
print(f"skybook: app deployed, book at {outputs.get('bookFlightUrl')}", flush=True)
