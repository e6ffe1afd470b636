"""The process executor against AWS's recorded Lambda behaviour, one difference per test.

Each test names the AWS behaviour it checks. Where the Linux host cannot enforce a limit for
the user running the tests (see sandbox/lambda_executor/isolation.py), the test says so and
checks the weaker guarantee instead of pretending.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.sandbox.lambdas import RUNTIME_PY, invoke, pid_alive, wait_until

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

pytestmark = pytest.mark.sandbox


def _mount_namespaces() -> bool:
    """Whether this machine lets the runtime isolate itself (what the executor probes too)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run(
            [sys.executable, "-S", "-s", str(RUNTIME_PY), "--probe", scratch],
            capture_output=True,
            text=True,
            timeout=30,
        )
    return bool(json.loads(out.stdout.strip().splitlines()[-1])["isolated"])


ISOLATED = _mount_namespaces()
REPO = Path(__file__).resolve().parents[2]


def _processes_of(function: str) -> list[int]:
    """Live function processes (runtime.py) of ``function``, found through /proc."""
    found = []
    needle = f"AWS_LAMBDA_FUNCTION_NAME={function}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"runtime.py" in cmdline and needle in environ and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


# --- AWS_LAMBDA_EXEC_WRAPPER ---------------------------------------------------------------

WRAPPER = """\
#!/bin/bash
export WRAPPER_VAR=wrapped
exec "$1" -X skybook_wrapper=on "${@:2}"
"""
REPORTS_WRAPPING = """
import os, sys
def handler(event, context):
    return {"var": os.environ.get("WRAPPER_VAR"), "xoptions": sys._xoptions}
"""


def test_exec_wrapper_runs_the_runtime_and_may_change_environment_and_arguments(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: the runtime's bootstrap runs ``$AWS_LAMBDA_EXEC_WRAPPER python bootstrap.py``; the
    script (given as /var/task/... like on AWS) can export variables and change arguments."""
    name = make_function(
        files={"app.py": REPORTS_WRAPPING, "wrapper": WRAPPER},
        modes={"wrapper": 0o755},
        env={"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrapper"},
    )
    body, response = invoke(lam, name)
    assert "FunctionError" not in response, body
    assert body["var"] == "wrapped"
    assert body["xoptions"].get("skybook_wrapper") == "on"


def test_missing_exec_wrapper_fails_like_aws(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS's bootstrap: ``<wrapper>: does not exist`` and exit 127 (Runtime.ExitError)."""
    name = make_function(REPORTS_WRAPPING, env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/missing"})
    body, response = invoke(lam, name, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"] == (
        f"RequestId: {request_id} Error: Runtime exited with error: exit status 127"
    )
    assert "/opt/missing: does not exist" in base64.b64decode(response["LogResult"]).decode()


# --- responses over 6 MB -------------------------------------------------------------------


def test_response_over_6_mb_is_aws_error(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: Function.ResponseSizeTooLarge, 'Response payload size exceeded maximum allowed
    payload size (6291556 bytes).'"""
    name = make_function("def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n")
    body, response = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": (
            "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
        ),
    }


# --- stack traces ----------------------------------------------------------------------------

FAILING = """
import json

def helper():
    json.loads("{not json")

def handler(event, context):
    helper()
"""


def test_handler_error_trace_shows_task_root_paths_and_request_id(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: ``File "/var/task/app.py", line N, in handler`` frames, none of the runtime's,
    library frames under /var/lang, and the invocation's requestId."""
    name = make_function(FAILING)
    body, response = invoke(lam, name, LogType="Tail")
    trace = "".join(body["stackTrace"])
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert body["errorType"] == "JSONDecodeError"
    assert body["stackTrace"][0] == '  File "/var/task/app.py", line 8, in handler\n    helper()\n'
    assert '  File "/var/task/app.py", line 5, in helper\n' in trace
    assert 'File "/var/lang/lib/python3.13/json/__init__.py"' in trace
    repo = str(Path(__file__).resolve().parents[2])
    assert repo not in trace and "runtime.py" not in trace
    log = base64.b64decode(response["LogResult"]).decode()
    assert 'File "/var/task/app.py", line 8, in handler' in log


def test_init_error_trace_shows_task_root_and_request_id(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: an exception at module level fails the init; the invoke returns it with the
    function's frame under /var/task and the invocation's requestId."""
    name = make_function("raise RuntimeError('no config')\n")
    body, response = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "RuntimeError"
    assert body["errorMessage"] == "no config"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert body["stackTrace"][-1].startswith('  File "/var/task/app.py", line 1, in <module>')


# --- init errors fail the environment at start -----------------------------------------------


def _provisioned_status(lam: LambdaClient, name: str, version: str) -> str:
    def settled() -> str | None:
        status = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
        return None if status["Status"] == "IN_PROGRESS" else status["Status"]

    return str(wait_until(settled, timeout=30, what="provisioned concurrency to settle"))


def test_init_error_fails_provisioned_concurrency(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: the init runs when a provisioned environment starts; if it fails, the provisioned
    concurrency config goes to FAILED (and a good function's goes to READY)."""
    for source, expected in (
        ("import no_such_module\ndef handler(e, c):\n    return 1\n", "FAILED"),
        ("def handler(e, c):\n    return 1\n", "READY"),
    ):
        name = make_function(source)
        version = lam.publish_version(FunctionName=name)["Version"]

        def active(n: str = name, v: str = version) -> bool:
            config = lam.get_function(FunctionName=n, Qualifier=v)["Configuration"]
            return config["State"] == "Active"

        wait_until(active, what="published version Active")
        lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1
        )
        assert _provisioned_status(lam, name, version) == expected
        lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier=version)


# --- the environment as AWS sets it ----------------------------------------------------------

# Recorded on AWS for python3.13 (LocalStack's test_introspection_invoke snapshot).
AWS_KEYS = {
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_DAEMON_ADDRESS",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "LANG",
    "LC_CTYPE",
    "LD_LIBRARY_PATH",
    "PATH",
    "PWD",
    "PYTHONPATH",
    "SHLVL",
    "TZ",
    "_AWS_XRAY_DAEMON_ADDRESS",
    "_AWS_XRAY_DAEMON_PORT",
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
}
# What LocalStack's Docker executor gives a function beyond AWS.
LOCALSTACK_KEYS = {
    "AWS_ENDPOINT_URL",
    "LOCALSTACK_HOSTNAME",
    "EDGE_PORT",
    "AWS_LAMBDA_FUNCTION_TIMEOUT",
}

ENVIRONMENT = """
import os, sys
def handler(event, context):
    return {"env": dict(os.environ), "cwd": os.getcwd(), "executable": sys.executable}
"""


def test_environment_is_awss_and_nothing_more(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: exactly the recorded variables (plus the function's own), in AWS's shape with
    the kit's folders; the working directory is the task root."""
    name = make_function(ENVIRONMENT, env={"TEST_KEY": "TEST_VAL"})
    body, _ = invoke(lam, name)
    env = body["env"]
    assert set(env) - LOCALSTACK_KEYS == AWS_KEYS | {"TEST_KEY"}
    task, runtime_dir = env["LAMBDA_TASK_ROOT"], env["LAMBDA_RUNTIME_DIR"]
    assert body["cwd"] == task == env["PWD"]
    assert (Path(task) / "app.py").is_file()
    assert env["PYTHONPATH"] == runtime_dir
    assert sorted(os.listdir(runtime_dir)) == ["runtime.py"]  # nothing of the kit
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2000"
    assert (env["LANG"], env["LC_CTYPE"], env["TZ"], env["SHLVL"]) == (
        "en_US.UTF-8",
        "C.UTF-8",
        ":UTC",
        "0",
    )
    # /var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin with the interpreter's folder
    path = env["PATH"].split(":")
    assert path[:4] == [str(Path(body["executable"]).parent), "/usr/local/bin", "/usr/bin/", "/bin"]
    # /var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib
    ld = env["LD_LIBRARY_PATH"].split(":")
    assert ld[1:] == [
        "/lib64",
        "/usr/lib64",
        runtime_dir,
        f"{runtime_dir}/lib",
        task,
        f"{task}/lib",
    ]


# --- limits ----------------------------------------------------------------------------------

WRITES = """
import errno, os, tempfile
def handler(event, context):
    out = {"tmpdir": tempfile.gettempdir()}
    try:
        with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "new.txt"), "w") as f:
            f.write("x")
        out["task_root"] = "written"
    except OSError as e:
        out["task_root"] = errno.errorcode[e.errno]
    return out
"""


def test_task_root_is_read_only(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    """AWS: /var/task is a read-only file system (EROFS)."""
    name = make_function(WRITES)
    body, response = invoke(lam, name)
    assert "FunctionError" not in response, body
    if ISOLATED:
        assert body["task_root"] == "EROFS"
    elif os.geteuid() != 0:
        assert body["task_root"] == "EACCES"  # the fallback: a copy without write bits
    else:
        pytest.skip("root without mount namespaces: file modes do not bind root")


TMP = """
import os, tempfile, time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    tmp = tempfile.gettempdir()
    if event.get("write"):
        open(os.path.join(tmp, event["write"]), "w").close()
    return {"tmpdir": tmp, "files": sorted(os.listdir(tmp)), "pid": os.getpid()}
"""


def _own_files(result: dict[str, Any]) -> list[str]:
    """What a function has in its /tmp, but for the folder holding the kit when the kit
    itself lives below /tmp (a clone in /tmp): it is mounted back there, read-only, so the
    function can reach its code and boto3 (README: "Still different from AWS")."""
    kit = REPO.resolve()
    holder = kit.relative_to("/tmp").parts[0] if kit.is_relative_to("/tmp") else None
    return [f for f in result["files"] if f != holder]


def test_tmp_is_per_environment(lam: LambdaClient, make_function: Callable[..., str]) -> None:
    """AWS: each execution environment has its own /tmp, empty when it starts; it keeps its
    files across warm invocations."""
    name = make_function(TMP)
    first, _ = invoke(lam, name, {"write": "mine"})
    if ISOLATED:
        assert first["tmpdir"] == "/tmp"
    assert _own_files(first) == ["mine"]
    again, _ = invoke(lam, name)
    assert again["pid"] == first["pid"] and _own_files(again) == ["mine"]  # warm: kept
    # two at once: the warm environment and a new one, which sees none of the other's files
    with ThreadPoolExecutor(2) as pool:
        results = [
            {**r, "files": _own_files(r)}
            for r in pool.map(lambda m: invoke(lam, name, {"write": m, "sleep": 1})[0], ["a", "b"])
        ]
    warm = next(r for r in results if r["pid"] == first["pid"])
    new = next(r for r in results if r["pid"] != first["pid"])
    assert warm["files"] == sorted(["mine", next(iter(set(warm["files"]) - {"mine"}))])
    assert len(new["files"]) == 1 and new["files"][0] in ("a", "b")


FILLS_TMP = """
import errno
def handler(event, context):
    written = 0
    chunk = b"x" * (16 * 1024 * 1024)
    try:
        with open("/tmp/fill", "wb") as f:
            while written < 2048 * 1024 * 1024:
                f.write(chunk)
                f.flush()
                written += len(chunk)
    except OSError as e:
        return {"error": errno.errorcode[e.errno], "written_mb": written // (1024 * 1024)}
    return {"error": None, "written_mb": written // (1024 * 1024)}
"""


def test_tmp_is_sized_by_ephemeral_storage(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: /tmp holds EphemeralStorage MB (512 by default); writing past it gives ENOSPC."""
    if not ISOLATED:
        pytest.skip("no mount namespaces here: /tmp is a per-environment TMPDIR, not sized")
    name = make_function(FILLS_TMP, ephemeral_mb=512, memory=256, timeout=30)
    body, response = invoke(lam, name)
    assert "FunctionError" not in response, body
    assert body["error"] == "ENOSPC"
    assert 480 <= body["written_mb"] <= 512


ALLOCATES = """
def handler(event, context):
    hoard = []
    for _ in range(event["mb"]):
        hoard.append(bytearray(1024 * 1024))
    return len(hoard)
"""


def test_memory_is_bounded_by_memory_size(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: a function that allocates past MemorySize is killed: Runtime.OutOfMemory,
    'Runtime exited with error: signal: killed', and REPORT shows the limit as used."""
    name = make_function(ALLOCATES, memory=128)
    body, response = invoke(lam, name, {"mb": 40})
    assert body == 40  # well below the limit: fine
    body, response = invoke(lam, name, {"mb": 400}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    report = base64.b64decode(response["LogResult"]).decode().splitlines()[-1]
    assert "Max Memory Used: 128 MB" in report
    assert "Error Type: Runtime.OutOfMemory" in report
    body, response = invoke(lam, name, {"mb": 10})  # a new environment serves the next one
    assert body == 10


SLOW = """
import os, time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return os.getpid()
"""


def test_environments_are_bounded_by_reserved_concurrency(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS: a function never has more execution environments than its reserved concurrency,
    across its versions, also after the reservation is lowered."""
    name = make_function(SLOW)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    with ThreadPoolExecutor(3) as pool:
        pids = set(pool.map(lambda _: invoke(lam, name, {"sleep": 1})[0], range(3)))
    assert len(pids) == 3 and len(_processes_of(name)) == 3

    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    for qualifier in (version, "$LATEST", version):  # each version wants its own environment
        body, response = invoke(lam, name, Qualifier=qualifier)
        assert "FunctionError" not in response, body
        assert len(_processes_of(name)) == 1


# --- runtimes that are not installed -------------------------------------------------------


def test_a_python_runtime_not_installed_fails_saying_how_to_add_it(
    lam: LambdaClient, make_function: Callable[..., str]
) -> None:
    """AWS offers python3.14; here the function is Failed with a reason naming the fix."""
    from sandbox.paths import Paths

    interpreters = json.loads(Paths.from_env().interpreters_file.read_text())
    if "python3.14" in interpreters:
        pytest.skip("python3.14 is installed here")
    name = make_function(SLOW, runtime="python3.14", wait_active=False)

    def settled() -> tuple[str, str] | None:
        config = lam.get_function(FunctionName=name)["Configuration"]
        return None if config["State"] == "Pending" else (config["State"], config["StateReason"])

    state, reason = wait_until(settled, what="the function's state")
    assert state == "Failed"
    assert "python3.14 needs a Python 3.14 interpreter" in reason
    assert "uv python install 3.14" in reason and "./scripts/setup" in reason
    assert "python3.13" in reason  # what works here
