"""The ``process`` Lambda executor, driven from the outside with boto3 against a real sandbox.

Functions are built here from inline source; every test creates its own function so tests stay
independent. Polls have deadlines; nothing sleeps for a fixed time to "let things settle".
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import SandboxUnderTest
from tests.sandbox.lambdas import RUNTIME_PY, invoke, pid_alive, wait_until, zip_of

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient

pytestmark = pytest.mark.sandbox


INFO = """
import json, os, sys, time
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    time.sleep(event.get("sleep", 0))
    return {
        "pid": os.getpid(), "count": COUNT, "event": event, "version": sys.version_info[:2],
        "env": dict(os.environ),
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
            "identity": context.identity,
            "client_context": context.client_context,
        },
    }
"""


def test_sync_invoke_and_warm_reuse(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    name = make_function(INFO)
    first, response = invoke(lam, name, {"hello": "world"})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert first["event"] == {"hello": "world"}
    second, _ = invoke(lam, name)
    assert second["pid"] == first["pid"]  # the warm environment is reused ...
    assert second["count"] == first["count"] + 1  # ... module globals survive


def test_context_and_environment(
    lam: LambdaClient, make_function: Callable[..., str], sandbox: SandboxUnderTest
) -> None:
    name = make_function(INFO, timeout=7, env={"GREETING": "hi"})
    body, response = invoke(lam, name)
    env, ctx = body["env"], body["context"]
    request_id = response["ResponseMetadata"]["RequestId"]

    assert env["AWS_ENDPOINT_URL"] == sandbox.endpoint
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["GREETING"] == "hi"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert env["_HANDLER"] == "app.handler"
    assert env["TZ"] == ":UTC"
    assert Path(env["LAMBDA_TASK_ROOT"], "app.py").is_file()
    for leaked in ("VIRTUAL_ENV", "LOCALSTACK_RUNTIME_ENDPOINT", "GATEWAY_LISTEN"):
        assert leaked not in env

    assert ctx["aws_request_id"] == request_id
    assert ctx["function_name"] == name
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"].endswith(f":function:{name}")
    assert ctx["memory_limit_in_mb"] == "128"
    assert ctx["log_group_name"] == f"/aws/lambda/{name}"
    assert ctx["log_stream_name"] == env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert 0 < ctx["remaining"] <= 7000
    assert ctx["identity"] is None


def test_isolation_and_boto3(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    name = make_function(
        """
        import importlib, sys
        def handler(event, context):
            found = {}
            for mod in ("localstack", "sandbox", "pytest", "plux", "boto3"):
                try:
                    importlib.import_module(mod)
                    found[mod] = True
                except ImportError:
                    found[mod] = False
            import boto3
            sts = boto3.client("sts")  # AWS_ENDPOINT_URL sends it to the sandbox
            return {"found": found, "account": sts.get_caller_identity()["Account"],
                    "path": sys.path}
        """
    )
    body, response = invoke(lam, name)
    assert "FunctionError" not in response, body
    assert body["found"] == {
        "localstack": False,
        "sandbox": False,
        "pytest": False,
        "plux": False,
        "boto3": True,
    }
    assert body["account"] == "000000000000"
    assert not any("site-packages" in p for p in body["path"])


def test_handler_exception(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    name = make_function(
        """
        def helper():
            raise ValueError("boom")

        def handler(event, context):
            helper()
        """
    )
    body, response = invoke(lam, name, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    trace = "".join(body["stackTrace"])
    assert 'app.py", line 6, in handler' in trace
    assert "in helper" in trace
    assert "runtime.py" not in trace
    log = base64.b64decode(response["LogResult"]).decode()
    assert "[ERROR] ValueError: boom\nTraceback (most recent call last):" in log


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        (
            {"app.py": "import no_such_module\n"},
            "app.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'no_such_module'",
        ),
        (
            {"app.py": "def other(event, context):\n    return 1\n"},
            "app.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'app'",
        ),
        (
            {"app.py": "def handler(event, context)\n    return 1\n"},
            "app.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'app'",
        ),
    ],
    ids=["import", "handler-not-found", "syntax"],
)
def test_init_errors(
    lam: LambdaClient,
    make_function: Callable[..., str],
    files: dict[str, str],
    handler: str,
    error_type: str,
    message: str,
) -> None:
    name = make_function(files=files, handler=handler)
    for _ in range(2):  # the error is stable: each invoke re-inits, as on AWS
        body, response = invoke(lam, name)
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == error_type
        assert body["errorMessage"].startswith(message)
        assert "requestId" in body


def test_timeout_then_next_invoke_works(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    name = make_function(
        """
        import time
        def handler(event, context):
            print("before sleep")
            time.sleep(event.get("sleep", 0))
            return "done"
        """,
        timeout=1,
    )
    body, response = invoke(lam, name, {"sleep": 30}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    log = base64.b64decode(response["LogResult"]).decode()
    assert "before sleep" in log
    assert f"{request_id} Task timed out after 1.00 seconds" in log
    assert "Status: timeout" in log

    body, response = invoke(lam, name, {"sleep": 0})
    assert body == "done"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("os._exit(3)", "Runtime exited with error: exit status 3"),
        ("os.kill(os.getpid(), 9)", "Runtime exited with error: signal: killed"),
        ("sys.exit(0)", "Runtime exited without providing a reason"),
    ],
    ids=["exit", "sigkill", "sys-exit-0"],
)
def test_crash_then_next_invoke_works(
    lam: LambdaClient, make_function: Callable[..., str], code: str, expected: str
) -> None:
    name = make_function(
        f"""
        import os, sys
        def handler(event, context):
            if event.get("crash"):
                print("about to crash")
                {code}
            return os.getpid()
        """
    )
    pid, _ = invoke(lam, name)
    body, response = invoke(lam, name, {"crash": True}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"] == f"RequestId: {request_id} Error: {expected}"
    assert "about to crash" in base64.b64decode(response["LogResult"]).decode()
    assert not pid_alive(pid)
    new_pid, response = invoke(lam, name)
    assert "FunctionError" not in response
    assert new_pid != pid


def test_process_killed_while_idle_is_replaced(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    name = make_function(INFO)
    pid = invoke(lam, name)[0]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), what=f"pid {pid} dead")
    body, response = invoke(lam, name)
    assert "FunctionError" not in response, body
    assert body["pid"] != pid
    assert body["count"] == 1  # a fresh init


def test_response_too_large(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    name = make_function("def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n")
    body, response = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"


def test_logs_reach_cloudwatch(
    lam: LambdaClient, logs: CloudWatchLogsClient, make_function: Callable[..., str]
) -> None:
    name = make_function(
        """
        import logging, os, sys
        def handler(event, context):
            print("line from print")
            print("line from stderr", file=sys.stderr)
            os.write(1, b"line from fd 1\\n")
            logging.getLogger().warning("line from logging")
            return "ok"
        """
    )
    _, response = invoke(lam, name)
    request_id = response["ResponseMetadata"]["RequestId"]

    def messages() -> list[str]:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        found = [e["message"] for e in events]
        return found if any(m.startswith("REPORT") for m in found) else []

    lines = wait_until(messages, what="logs in CloudWatch")
    text = "".join(lines)
    assert f"START RequestId: {request_id} Version: $LATEST" in text
    assert "line from print" in text
    assert "line from stderr" in text
    assert "line from fd 1" in text
    assert "[WARNING]\t" in text and f"Z\t{request_id}\tline from logging" in text
    assert f"END RequestId: {request_id}" in text
    report = next(m for m in lines if m.startswith("REPORT"))
    for field in ("Duration:", "Billed Duration:", "Memory Size: 128 MB", "Max Memory Used:"):
        assert field in report
    assert "Init Duration:" in report  # the first invoke was a cold start


def test_json_log_format(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    name = make_function(
        "import logging\ndef handler(event, context):\n"
        "    logging.getLogger('app').info('structured')\n"
        "    logging.getLogger('app').debug('hidden')\n"
    )
    lam.update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO"}
    )
    wait_until(
        lambda: (
            lam.get_function(FunctionName=name)["Configuration"]["LastUpdateStatus"] == "Successful"
        ),
        what="configuration update",
    )
    _, response = invoke(lam, name, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = base64.b64decode(response["LogResult"]).decode().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert [(e["level"], e["message"], e["logger"]) for e in entries] == [
        ("INFO", "structured", "app")
    ]
    assert entries[0]["requestId"] == request_id


def test_async_invoke(
    lam: LambdaClient, logs: CloudWatchLogsClient, make_function: Callable[..., str]
) -> None:
    name = make_function(
        """
        def handler(event, context):
            print("async ran", event["marker"])
        """
    )
    marker = uuid.uuid4().hex
    response = lam.invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"marker": marker}).encode(),
    )
    assert response["StatusCode"] == 202

    def ran() -> bool:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return False
        return any(f"async ran {marker}" in e["message"] for e in events)

    wait_until(ran, what="async invoke in the function's logs")


def test_parallel_invokes_get_separate_processes(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    name = make_function(
        """
        import os, time
        def handler(event, context):
            start = time.time()
            time.sleep(event["sleep"])
            return {"pid": os.getpid(), "start": start, "end": time.time()}
        """
    )
    n = 3
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: invoke(lam, name, {"sleep": 1.0})[0], range(n)))
    assert len({r["pid"] for r in results}) == n
    assert max(r["start"] for r in results) < min(r["end"] for r in results)  # overlapping


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_python_versions(
    lam: LambdaClient, make_function: Callable[..., str], runtime: str
) -> None:
    name = make_function(INFO, runtime=runtime)
    body, response = invoke(lam, name)
    assert "FunctionError" not in response, body
    assert f"python{body['version'][0]}.{body['version'][1]}" == runtime
    assert body["env"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"


def test_unsupported_runtime_is_clear(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    name = make_function(
        files={"index.js": "exports.handler = async () => 1;"},
        handler="index.handler",
        runtime="nodejs20.x",
        wait_active=False,
    )
    config = wait_until(
        lambda: (
            (c := lam.get_function(FunctionName=name)["Configuration"])["State"] != "Pending" and c
        ),
        what="state change",
    )
    assert config["State"] == "Failed"
    assert "nodejs20.x is not supported" in config["StateReason"]
    assert "python3.13" in config["StateReason"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.invoke(FunctionName=name, Payload=b"{}")


def test_delete_function_stops_its_processes(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    name = make_function(
        """
        import os, subprocess
        def handler(event, context):
            child = subprocess.Popen(["sleep", "300"])  # the function's own child process
            return [os.getpid(), child.pid]
        """
    )
    pids = invoke(lam, name)[0]
    assert all(pid_alive(pid) for pid in pids)
    lam.delete_function(FunctionName=name)
    wait_until(lambda: not any(pid_alive(pid) for pid in pids), what=f"pids {pids} gone")


def test_layers_are_importable(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    layer = lam.publish_layer_version(
        LayerName=f"l-{uuid.uuid4().hex[:8]}",
        Content={"ZipFile": zip_of({"python/layer_lib.py": "VALUE = 'from layer'\n"})},
        CompatibleRuntimes=["python3.13"],
    )
    name = make_function(
        "import layer_lib\ndef handler(event, context):\n    return layer_lib.VALUE\n",
        layers=[layer["LayerVersionArn"]],
    )
    body, _ = invoke(lam, name)
    assert body == "from layer", body


def test_log_file_per_environment(
    lam: LambdaClient, make_function: Callable[..., str], sandbox: SandboxUnderTest
) -> None:
    log_dir = getattr(sandbox, "lambda_log_dir", None)
    if log_dir is None:
        pytest.skip("sandbox does not expose its SKYBOOK_LAMBDA_LOG_DIR")
    name = make_function("def handler(event, context):\n    print('to the file')\n")
    invoke(lam, name)
    files = wait_until(lambda: list(Path(log_dir, name).glob("*.log")), what="log file")
    assert "to the file" in files[0].read_text()


# --- runtime.py on its own: it must not outlive its parent ---------------------------------

_FAKE_PARENT = """
import os, subprocess, sys, time
runtime = sys.argv[1]
r_in, w_in = os.pipe()
r_out, w_out = os.pipe()
child = subprocess.Popen(
    [sys.executable, "-S", "-s", "-u", runtime],
    env={"_SKYBOOK_RUNTIME": f"{r_in},{w_out},{os.getpid()}"},
    pass_fds=(r_in, w_out), start_new_session=True,
)
print(child.pid, flush=True)
sys.stdin.readline()  # the test says when: closing the control pipe looks like a dead executor
os.close(w_in)
time.sleep(60)
"""


@pytest.fixture
def fake_parent() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A stand-in for LocalStack that starts runtime.py (which then waits for its init)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _FAKE_PARENT, str(RUNTIME_PY)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    yield parent, child_pid
    parent.kill()
    parent.wait()
    if pid_alive(child_pid):
        os.kill(child_pid, signal.SIGKILL)


def test_runtime_exits_when_parent_dies(fake_parent: tuple[subprocess.Popen[str], int]) -> None:
    parent, child_pid = fake_parent
    assert pid_alive(child_pid)
    parent.kill()
    parent.wait()
    wait_until(lambda: not pid_alive(child_pid), timeout=5, what="runtime to exit")


def test_runtime_exits_when_control_pipe_closes(
    fake_parent: tuple[subprocess.Popen[str], int],
) -> None:
    parent, child_pid = fake_parent
    assert parent.stdin is not None
    parent.stdin.write("close\n")
    parent.stdin.flush()
    wait_until(lambda: not pid_alive(child_pid), timeout=5, what="runtime to exit")
    assert parent.poll() is None  # the parent is still there: the EOF alone ended it
