"""The embedded sandbox itself: services, DynamoDB, SES, one-line refusals, cleanup."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.runner import Sandbox, SandboxError, SandboxSettings, free_port, marked_pids

pytestmark = pytest.mark.sandbox
REPO = Path(__file__).resolve().parents[2]
REQUIRED = ("lambda", "events", "dynamodb", "ses", "apigateway", "iam", "logs", "sts")


def embedded(sandbox):  # type: ignore[no-untyped-def]
    if sandbox.kind != "embedded":
        pytest.skip("needs the embedded sandbox")
    return sandbox.embedded


def test_required_services_are_available(sandbox) -> None:  # type: ignore[no-untyped-def]
    with urllib.request.urlopen(f"{sandbox.endpoint}/_localstack/health") as response:
        services = json.load(response)["services"]
    for name in REQUIRED:
        assert services.get(name) in ("available", "running"), (name, services.get(name))


def test_dynamodb_local_works_offline(aws) -> None:  # type: ignore[no-untyped-def]
    ddb = aws("dynamodb")
    ddb.create_table(
        TableName="runner-check",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="runner-check", Item={"PK": {"S": "a"}, "n": {"N": "2"}})
    item = ddb.get_item(TableName="runner-check", Key={"PK": {"S": "a"}})["Item"]
    assert item["n"] == {"N": "2"}
    ddb.delete_table(TableName="runner-check")


def test_ses_templated_email_is_captured(sandbox, aws) -> None:  # type: ignore[no-untyped-def]
    ses = aws("ses")
    ses.verify_email_identity(EmailAddress="sender@runner.test")
    ses.create_template(
        Template={
            "TemplateName": "runnerCheck",
            "SubjectPart": "Hi {{name}}",
            "HtmlPart": "<b>x</b>",
        }
    )
    message_id = ses.send_templated_email(
        Source="sender@runner.test",
        Destination={"ToAddresses": ["someone@runner.test"]},
        Template="runnerCheck",
        TemplateData=json.dumps({"name": "Ada"}),
    )["MessageId"]
    with urllib.request.urlopen(f"{sandbox.endpoint}/_aws/ses?id={message_id}") as response:
        messages = json.load(response)["messages"]
    assert len(messages) == 1
    assert messages[0]["Template"] == "runnerCheck"
    assert json.loads(messages[0]["TemplateData"]) == {"name": "Ada"}
    assert messages[0]["Destination"]["ToAddresses"] == ["someone@runner.test"]


def test_sandbox_processes_carry_its_marker(sandbox) -> None:  # type: ignore[no-untyped-def]
    running = embedded(sandbox)
    assert running.record() is not None
    assert running.record()["pid"] in running.pids()


def test_second_start_in_same_folder_is_refused(sandbox) -> None:  # type: ignore[no-untyped-def]
    running = embedded(sandbox)
    again = Sandbox(SandboxSettings(name=running.settings.name, port=free_port()))
    with pytest.raises(SandboxError, match="already running"):
        again.start()


def test_port_in_use_is_refused_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        sandbox = Sandbox(SandboxSettings(name=f"test-busy-{port}", port=port))
        with pytest.raises(SandboxError) as error:
            sandbox.start()
    assert f"port {port}" in str(error.value)
    assert "\n" not in str(error.value)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skybook.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_detached_up_then_down_leaves_nothing() -> None:
    port = free_port()
    env = {**os.environ, "SKYBOOK_SANDBOX": f"test-cli-{port}", "SKYBOOK_PORT": str(port)}
    up = _cli("up", "--detach", "--no-deploy", env=env)
    assert up.returncode == 0, up.stderr
    assert f"http://127.0.0.1:{port}" in up.stdout
    sandbox = Sandbox(SandboxSettings(name=f"test-cli-{port}", port=port))
    record = sandbox.record()
    assert record is not None
    pids = marked_pids(record["id"])
    assert pids
    again = _cli("up", "--detach", "--no-deploy", env=env)
    assert again.returncode == 1
    assert "already running" in again.stderr
    down = _cli("down", env=env)
    assert down.returncode == 0, down.stderr
    deadline = time.monotonic() + 10
    while marked_pids(record["id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marked_pids(record["id"]) == []
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
