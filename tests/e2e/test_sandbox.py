"""The embedded sandbox itself: services, DynamoDB, SES, one-line refusals, cleanup."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from sandbox.runner import Sandbox, SandboxError, SandboxSettings, free_port
from skybook.polling import poll
from tests.conftest import SandboxUnderTest, pid_alive, thread_cpus
from tests.e2e.conftest import (
    REPO,
    App,
    run_skybook,
    skybook_command,
    unique_date,
    unique_email,
    wait_for,
)
from tests.sandbox.lambdas import create_python_function, invoke

pytestmark = pytest.mark.sandbox
REQUIRED = ("lambda", "events", "dynamodb", "ses", "apigateway", "iam", "logs", "sts")


def embedded(sandbox: SandboxUnderTest) -> Sandbox:
    if sandbox.kind != "embedded":
        pytest.skip("needs the embedded sandbox")
    return sandbox.embedded


def test_required_services_are_available(sandbox: SandboxUnderTest) -> None:
    with urllib.request.urlopen(f"{sandbox.endpoint}/_localstack/health") as response:
        services = json.load(response)["services"]
    for name in REQUIRED:
        assert services.get(name) in ("available", "running"), (name, services.get(name))


def test_localstacks_own_resources_answer_beside_the_aws_apis(sandbox: SandboxUnderTest) -> None:
    """What the internal_resources speedup must not change: LocalStack's resources, its 404
    for an unknown one, merged slashes, and a path left to the AWS APIs (S3's, here)."""

    def get(path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"{sandbox.endpoint}{path}") as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    status, body = get("/_localstack/info")
    assert status == 200 and "version" in json.loads(body)
    assert get("/_localstack/nothing-here") == (404, b"")
    status, body = get("//_localstack/health")
    assert status == 200 and "services" in json.loads(body)
    status, body = get("/nothing-here")
    assert status == 404 and b"NoSuchBucket" in body


def test_localstack_serves_http_and_https_on_one_port_through_the_kits_server(
    sandbox: SandboxUnderTest,
) -> None:
    embedded(sandbox)  # the Docker image serves through LocalStack's own Twisted server
    import boto3
    import urllib3

    upgrade = urllib.request.Request(
        f"{sandbox.endpoint}/_localstack/health",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:  # Twisted would hand it to rolo
        urllib.request.urlopen(upgrade)
    assert refused.value.code == 501
    assert b"SKYBOOK_SPEEDUPS=-threaded_server" in refused.value.read()
    https = sandbox.endpoint.replace("http://", "https://")
    with contextlib.ExitStack() as stack:
        stack.enter_context(pytest.warns(urllib3.exceptions.InsecureRequestWarning))
        ddb = boto3.client(
            "dynamodb",
            endpoint_url=https,
            verify=False,  # LocalStack's own certificate
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        assert "TableNames" in ddb.list_tables()


def test_internal_lambda_invokes_take_the_trimmed_chain(
    sandbox: SandboxUnderTest, app: App
) -> None:
    """The speedup is in use in a real sandbox, not only in its parity test: API Gateway's
    invoke of bookFlight (any answer will do) logs that it took the trimmed chain."""
    from sandbox.speedups.internal_invoke import TRIMMED

    running = embedded(sandbox)
    assert app.book("CDG", unique_date(), 1, unique_email()).status in (200, 400, 404)
    wait_for(
        lambda: TRIMMED in running.log_file.read_text(errors="replace"),
        timeout=10,
        what=f"the trimmed chain's line in {running.log_file}",
    )
    assert "take the whole chain" not in running.log_file.read_text(errors="replace")


def test_a_dynamodb_requests_path_reaches_dynamodb_local_encoded(sandbox: SandboxUnderTest) -> None:
    """LocalStack forwards the decoded path; the kit's client encodes it again as urllib3 did,
    so a space stays a request and a CR LF cannot start a second one (DynamoDB Local's own
    400 for the path, then the next request is answered as usual)."""
    embedded(sandbox)  # the Docker image forwards with LocalStack's own proxy
    host, port = sandbox.endpoint.removeprefix("http://").split(":")

    def list_tables(path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("POST", path, body=b"{}", headers=_DYNAMODB_HEADERS)
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    status, body = list_tables("/a%20b")
    assert status == 200 and "TableNames" in json.loads(body)
    status, body = list_tables("/x%0D%0AX-Smuggled:%201%0D%0A%0D%0APOST%20/y")
    assert status == 400 and b"Suspicious Path Character" in body
    status, body = list_tables("/")
    assert status == 200 and "TableNames" in json.loads(body)


_DYNAMODB_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/dynamodb/"
    "aws4_request, SignedHeaders=host, Signature=0",  # LocalStack reads, never checks, it
}


def test_dynamodb_local_works_offline(aws: Callable[..., Any]) -> None:
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


def test_dynamodb_local_keeps_its_tables_in_memory(
    sandbox: SandboxUnderTest, aws: Callable[..., Any]
) -> None:
    """Nothing persists across starts, so no SQLite file: in memory is cheaper per request."""
    running = embedded(sandbox)
    aws("dynamodb").list_tables()  # DynamoDB Local starts on first use
    java = [
        line
        for line in map(_cmdline, running.pids())
        if any(arg.endswith("/DynamoDBLocal.jar") for arg in line)
    ]
    assert len(java) == 1, java
    assert "-inMemory" in java[0] and "-dbPath" not in java[0], java[0]


def test_localstack_has_a_core_of_its_own_and_what_it_starts_the_others(
    sandbox: SandboxUnderTest, aws: Callable[..., Any]
) -> None:
    """sandbox.cpu_split: LocalStack's threads on its core, except the two that start
    processes; DynamoDB Local and the function processes on the other cores."""
    running = embedded(sandbox)
    record = running.record()
    assert record is not None
    if record["cpus"] is None:
        pytest.skip("one usable CPU: nothing to split")
    own, helpers = tuple(record["cpus"]["localstack"]), tuple(record["cpus"]["helpers"])
    assert own and helpers and not set(own) & set(helpers)
    lam = aws("lambda")
    create_python_function(
        lam,
        "cpu-probe",
        "import os\ndef handler(e, c):\n    return sorted(os.sched_getaffinity(0))\n",
    )
    assert tuple(invoke(lam, "cpu-probe")[0]) == helpers
    aws("dynamodb").list_tables()  # DynamoDB Local runs
    localstack = thread_cpus(record["pid"])
    assert set(localstack) == {own, helpers}, localstack
    assert localstack[helpers] <= 2 < localstack[own], localstack  # the spawner, DynamoDB's
    started = [pid for pid in running.pids() if pid != record["pid"]]
    kinds = {" ".join(_cmdline(pid)): cpus for pid in started if (cpus := thread_cpus(pid))}
    assert any("DynamoDBLocal" in line for line in kinds), kinds
    assert any("runtime.py" in line for line in kinds), kinds
    assert all(set(cpus) == {helpers} for cpus in kinds.values()), kinds


def test_ses_templated_email_is_captured(
    sandbox: SandboxUnderTest, aws: Callable[..., Any]
) -> None:
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


def test_sandbox_processes_carry_its_marker(sandbox: SandboxUnderTest) -> None:
    running = embedded(sandbox)
    record = running.record()
    assert record is not None
    assert record["pid"] in running.pids()


def test_second_start_in_same_folder_is_refused(sandbox: SandboxUnderTest) -> None:
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


def _start_function_process(endpoint: str) -> None:
    """Create and invoke a trivial function, so the sandbox has a function process to clean."""
    import boto3

    lam = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    lam.create_function(
        FunctionName="cleanup-probe",
        Runtime="python3.13",
        Role="arn:aws:iam::000000000000:role/probe",
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="cleanup-probe")
    assert lam.invoke(FunctionName="cleanup-probe")["Payload"].read() == b'"ok"'


def _cmdline(pid: int) -> list[str]:
    """A process's command line, empty once it is gone."""
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def _kinds(pids: list[int]) -> set[str]:
    """What the processes are: localstack, java, function (a runtime.py process)."""
    kinds = set()
    for pid in pids:
        cmdline = " ".join(_cmdline(pid))
        if "localstack.runtime.main" in cmdline:
            kinds.add("localstack")
        elif "java" in cmdline:
            kinds.add("java")
        elif "runtime.py" in cmdline:
            kinds.add("function")
    return kinds


def _running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if pid_alive(pid)]


def _wait_gone(pids: list[int], timeout: float = 20) -> None:
    poll(lambda: not _running(pids), deadline=time.monotonic() + timeout, interval=0.1)
    assert _running(pids) == [], _kinds(_running(pids))


def _sandbox_env(name: str, port: int) -> dict[str, str]:
    return {**os.environ, "SKYBOOK_SANDBOX": name, "SKYBOOK_PORT": str(port)}


def _wait_record(sandbox: Sandbox, timeout: float = 60) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        record = sandbox.record()
        return record if record is not None and record.get("ready") else None

    return wait_for(ready, timeout=timeout, what=f"the sandbox to be ready; see {sandbox.log_file}")


def test_detached_up_then_down_leaves_nothing() -> None:
    port = free_port()
    name = f"test-cli-{port}"
    env = _sandbox_env(name, port)
    up = run_skybook("up", "--detach", "--no-deploy", "--no-console", env=env)
    sandbox = Sandbox(SandboxSettings(name=name, port=port))
    try:
        assert up.returncode == 0, up.stderr
        assert f"http://127.0.0.1:{port}" in up.stdout
        record = sandbox.record()
        assert record is not None
        _start_function_process(sandbox.endpoint)
        pids = sandbox.pids()
        assert {"localstack", "java", "function"} <= _kinds(pids)

        for mode in ("--detach", "--watch"):  # detached, then in the foreground
            again = run_skybook("up", mode, "--no-deploy", "--no-console", env=env)
            assert again.returncode == 1
            assert again.stderr.strip().splitlines() == [
                f"skybook: a sandbox is already running at http://127.0.0.1:{port} "
                f"(pid {record['pid']}): use it, or stop it with ./scripts/down"
            ]
            assert sandbox.record() is not None  # ... and it still is: the refusal stops nothing

        down = run_skybook("down", env=env)
        assert down.returncode == 0, down.stderr
        _wait_gone(pids)
        assert run_skybook("down", env=env).stdout.strip() == "no sandbox was running"
    finally:
        sandbox.stop()  # a failed assertion must not leave the detached sandbox running


@contextlib.contextmanager
def _owner(
    command: list[str], name: str, port: int, **popen: Any
) -> Iterator[tuple[subprocess.Popen[bytes], list[int]]]:
    """A process that owns a sandbox (``up``, ``sandbox serve``), once its sandbox is ready and
    runs a function; with the owner's process and the sandbox's pids. Killed if left running."""
    proc = subprocess.Popen(command, cwd=REPO, **popen)
    try:
        sandbox = Sandbox(SandboxSettings(name=name, port=port))
        _wait_record(sandbox)
        _start_function_process(sandbox.endpoint)
        yield proc, sandbox.pids()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_ctrl_c_on_foreground_up_stops_everything() -> None:
    port = free_port()
    name = f"test-fg-{port}"
    up = skybook_command("up", "--no-deploy", "--no-console")
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
    with _owner(up, name, port, env=_sandbox_env(name, port), **output) as (proc, pids):
        assert {"localstack", "java", "function"} <= _kinds(pids)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        _wait_gone(pids)


@pytest.mark.slow
def test_killed_owner_takes_the_sandbox_with_it() -> None:
    """A test run or ``up`` killed with SIGKILL (no cleanup code runs) leaves nothing."""
    port = free_port()
    name = f"test-kill-{port}"
    serve = [sys.executable, "-m", "sandbox", "serve", "--name", name, "--port", str(port)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        with _owner(serve, name, port, **quiet) as (proc, pids):
            assert {"localstack", "function"} <= _kinds(pids)
            proc.kill()
            proc.wait(timeout=10)
            _wait_gone(pids, timeout=30)
    finally:
        Sandbox(SandboxSettings(name=name, port=port)).stop()


def test_down_after_localstack_crashed_sweeps_java_and_functions() -> None:
    """LocalStack killed alone (a crash, the OOM killer): its Java and functions must not
    outlive it, and ``down`` answers normally."""
    port = free_port()
    name = f"test-crash-{port}"
    env = _sandbox_env(name, port)
    assert run_skybook("up", "--detach", "--no-deploy", "--no-console", env=env).returncode == 0
    sandbox = Sandbox(SandboxSettings(name=name, port=port))
    try:
        _start_function_process(sandbox.endpoint)
        record = sandbox.record()
        assert record is not None
        pids = sandbox.pids()
        assert {"localstack", "java", "function"} <= _kinds(pids)
        os.kill(int(record["pid"]), signal.SIGKILL)
        down = run_skybook("down", env=env)
        assert down.returncode == 0, down.stderr
        _wait_gone(pids)
    finally:
        sandbox.stop()


def test_nothing_is_written_outside_the_repo(app: App) -> None:
    """LocalStack thinks this machine is a container, and unpacks Lambda code in its TMPDIR
    (/tmp/lambda, shared by every user); the runner keeps all of it in .skybook."""
    running = embedded(app.sandbox)
    assert running.dir.is_relative_to(REPO / ".skybook")
    for path in ("/var/lib/localstack", "/usr/lib/localstack", "/tmp/localstack"):
        assert not Path(path).exists(), path
    # LocalStack's temporary files (its own, and the unzipped function code) go to the
    # sandbox's tmp/ (its TEMP), not to the host's /tmp
    assert running.tmp_dir.is_dir()
    assert (running.dir / "fs" / str(running.tmp_dir).lstrip("/")).is_dir()
    unpacked = [p.parent.name for p in running.tmp_dir.glob("lambda/awslambda-*-tasks/*/code")]
    assert len(unpacked) >= len(app.outputs["functions"])  # the app's functions, at least
    assert not [c for c in unpacked if list(Path("/tmp/lambda").glob(f"*/{c}"))]
    # DynamoDB Local unpacks its native sqlite library on every start and never removes it:
    # into the sandbox's tmp/ (its java.io.tmpdir), which the next start empties
    java = [psutil.Process(p) for p in running.pids() if psutil.Process(p).name() == "java"]
    libraries = {m.path for j in java for m in j.memory_maps() if "sqlite4java" in m.path}
    assert libraries, "DynamoDB Local has not loaded its sqlite library"
    assert all(Path(lib).is_relative_to(running.tmp_dir) for lib in libraries), libraries
