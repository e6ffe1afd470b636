"""``python -m bootstrap`` as a real process against "AWS": a moto server on loopback.

The other tests run in-process on moto's mock. This one runs the command line as a user
does, in a fresh interpreter that reads an AWS config file whose profile says eu-west-1,
so the whole path (argument parsing, profile, region, credentials, exit codes, what is
printed) is exercised. botocore's own ``AWS_ENDPOINT_URL`` routes the "AWS" target's calls
to the moto server, which files them under the region their signature names; the deployer
itself uses no endpoint for AWS, and says where AWS_ENDPOINT_URL sends its calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.unit.bootstrap.conftest import SENDER

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def run(env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bootstrap", *argv],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,  # no terminal: apply must not wait for an answer
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_apply_with_a_profile_in_eu_west_1_lands_there(
    moto_server: str, tmp_path: Path, functions_dir: Path
) -> None:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[profile demo]\nregion = eu-west-1\n")
    credentials.write_text("[demo]\naws_access_key_id = AKIADEMO\naws_secret_access_key = s\n")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SKYBOOK_"))
    }
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_ENDPOINT_URL=moto_server,
        SKYBOOK_ENDPOINT="http://127.0.0.1:9",  # ignored: --profile means AWS
    )
    common = ["--profile", "demo", "--functions-dir", str(functions_dir)]
    work = tmp_path / "work"
    work.mkdir()

    refused = run(env, work, "apply", *common)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1].startswith(
        "error: sender bookings@skybook.local is on a reserved domain (.local)"
    )

    unconfirmed = run(env, work, "apply", *common, "--sender-email", SENDER)
    assert unconfirmed.returncode == 1
    assert unconfirmed.stderr == (
        "error: apply to AWS (profile demo, eu-west-1) needs confirmation: pass --yes "
        "(review the changes first with 'python -m bootstrap plan')\n"
    )

    planned = run(env, work, "plan", *common, "--sender-email", SENDER, "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr
    assert planned.stdout.splitlines()[0] == (
        "Target: AWS account 123456789012, region eu-west-1 (profile demo)"
    )
    assert f"note: AWS_ENDPOINT_URL sends these calls to {moto_server}" in planned.stderr

    applied = run(env, work, "apply", *common, "--sender-email", SENDER, "--yes")
    assert applied.returncode == 0, applied.stderr
    assert ".execute-api.eu-west-1.amazonaws.com/prod/book-flight" in applied.stdout

    def functions(region: str) -> list[str]:
        client = boto3.client(
            "lambda",
            region_name=region,
            endpoint_url=moto_server,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        return [f["FunctionName"] for f in client.list_functions()["Functions"]]

    assert len(functions("eu-west-1")) == 4
    assert functions("us-east-1") == []
    assert list(work.iterdir()) == []  # no outputs file unless asked: nothing to overwrite
