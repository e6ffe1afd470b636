"""LocalStack RuntimeExecutor that runs each execution environment as a local Python process.

Runs inside LocalStack's process. LocalStack creates one executor per execution environment and
calls start(), invoke() (one at a time), stop(). We talk to the function process over pipes
(see process.py / runtime.py) instead of LocalStack's HTTP executor callbacks: those made the
single-threaded gateway the bottleneck. What the Go init does in a Lambda container is done here:
the timeout, START/END/REPORT log framing, and AWS-shaped platform errors.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localstack import config
from localstack.aws.api.lambda_ import PackageType
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from sandbox.lambda_executor.interpreters import InterpreterError, interpreter_for
from sandbox.lambda_executor.process import RUNTIME_FILE, FunctionProcess, ProcessGone

LOG = logging.getLogger(__name__)

SITE_ENV = "SKYBOOK_LAMBDA_SITE"
LOG_DIR_ENV = "SKYBOOK_LAMBDA_LOG_DIR"

# LocalStack's internal runtime-API variables: meaningless without its Go init.
_INTERNAL_ENV = frozenset(
    {
        "LOCALSTACK_RUNTIME_ID",
        "LOCALSTACK_RUNTIME_ENDPOINT",
        "LOCALSTACK_FUNCTION_ACCOUNT_ID",
        "LOCALSTACK_USER",
        "LOCALSTACK_INIT_LOG_LEVEL",
        "LOCALSTACK_POST_INVOKE_WAIT_MS",
        "LOCALSTACK_MAX_PAYLOAD_SIZE",
        "LOCALSTACK_CHMOD_PATHS",
    }
)
INIT_TIMEOUT_S = 10.0  # AWS's limit for the init phase
LOG_GRACE_S = 0.5  # how long to wait for output after the process ended or was killed
_HISTORY_CHARS = 256 * 1024


@dataclass
class _Init:
    """Outcome of starting a process: logs to put in front of the next invoke's, or its error."""

    duration_ms: float
    logs: str
    error: dict[str, Any] | None = None
    maxrss_kb: int = 0


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


class ProcessRuntimeExecutor(RuntimeExecutor):
    """One execution environment = one runtime.py process (re-spawned after a timeout/crash)."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._invoke_lock = threading.Lock()  # LocalStack invokes one at a time; be sure
        self._proc_lock = threading.Lock()  # guards _proc/_stopped against a concurrent stop()
        self._proc: FunctionProcess | None = None
        self._stopped = False
        self._env: dict[str, str] = {}
        self._pending_init: _Init | None = None
        self._history: deque[str] = deque()
        self._history_chars = 0
        self._log_file = self._log_file_path()

    # --- LocalStack contract -------------------------------------------------------------

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        """Fail early (function state Failed, with the reason) when we cannot run it."""
        cfg = function_version.config
        if cfg.package_type != PackageType.Zip or not cfg.runtime:
            raise LambdaRuntimeException(
                "Container image functions are not supported by skybook's process Lambda "
                "executor; use a zip package with a Python runtime"
            )
        try:
            interpreter_for(cfg.runtime)
        except InterpreterError as e:
            # LocalStack's own hint then blames Docker; say what is really wrong first
            LOG.error("Function %s cannot run: %s", function_version.qualified_arn, e)
            raise LambdaRuntimeException(str(e)) from e
        if cfg.code:
            cfg.code.prepare_for_execution()
        for layer in cfg.layers:
            if layer.code:
                layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """Nothing to undo: LocalStack owns the unzipped code."""

    @classmethod
    def validate_environment(cls) -> bool:
        return True

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        """Where LocalStack is reachable from a function: its own gateway on this host."""
        if config.HOSTNAME_FROM_LAMBDA:
            return config.HOSTNAME_FROM_LAMBDA
        host = config.GATEWAY_LISTEN[0].host
        return "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host

    def get_runtime_endpoint(self) -> str:
        # Unused (we talk over pipes), but part of the environment LocalStack computes.
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{self.get_endpoint_from_executor()}:{port}/_localstack_lambda/{self.id}"

    def start(self, env_vars: dict[str, str]) -> None:
        """Spawn the process and run the function's init.

        An init error (import failure, ...) does not raise: like AWS, the error is returned by
        the next invoke, with the init logs; raising would make LocalStack answer with an
        internal error instead of the function's error payload.
        """
        self._env = self._function_env(env_vars)
        self._pending_init = self._spawn()

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        with self._invoke_lock:
            return self._invoke(payload)

    def stop(self) -> None:
        with self._proc_lock:
            self._stopped = True
            proc, self._proc = self._proc, None
        if proc:
            proc.kill()
            self._record(proc.logs.take(0))

    def get_logs(self) -> str:
        return "".join(self._history)

    # --- internals -----------------------------------------------------------------------

    @property
    def _timeout_s(self) -> float:
        return float(self.function_version.config.timeout)

    def _function_env(self, env_vars: dict[str, str]) -> dict[str, str]:
        """LocalStack's variables plus the AWS runtime's; nothing of LocalStack's own process."""
        cfg = self.function_version.config
        interpreter = interpreter_for(cfg.runtime)
        env = {
            "PATH": f"{Path(interpreter).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
        }
        env.update({k: str(v) for k, v in env_vars.items() if k not in _INTERNAL_ENV})
        env.update(
            {
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{cfg.runtime}",
                "LAMBDA_TASK_ROOT": str(cfg.code.get_unzipped_code_location()),
                "LAMBDA_RUNTIME_DIR": str(RUNTIME_FILE.parent),
                "TZ": ":UTC",
            }
        )
        return env

    def _layer_paths(self) -> list[str]:
        """/opt/python equivalents; later layers win, as when AWS extracts them in order."""
        version = self.function_version.config.runtime.removeprefix("python")
        paths: list[str] = []
        for layer in reversed(self.function_version.config.layers):
            if layer.code:
                root = Path(layer.code.get_unzipped_code_location())
                paths += [
                    str(root / "python" / "lib" / f"python{version}" / "site-packages"),
                    str(root / "python"),
                ]
        return paths

    def _spawn(self) -> _Init:
        """Start a process and wait for its init; keep it as the current one if it succeeded."""
        cfg = self.function_version.config
        task_root = str(cfg.code.get_unzipped_code_location())
        proc = FunctionProcess(
            interpreter_for(cfg.runtime),
            self._env,
            task_root,
            {
                "type": "init",
                "handler": cfg.handler,
                "task_root": task_root,
                "layer_paths": self._layer_paths(),
                "site_dir": os.environ.get(SITE_ENV) or None,
                "unset_env": [] if "LC_CTYPE" in self._env else ["LC_CTYPE"],
            },
        )
        with self._proc_lock:
            if self._stopped:
                proc.kill()
                raise LambdaRuntimeException(f"Execution environment {self.id} was stopped")
            self._proc = proc
        error: dict[str, Any] | None = None
        try:
            message = proc.recv(time.monotonic() + INIT_TIMEOUT_S)
            if message["type"] == "init_error":
                error = message["error"]
        except TimeoutError:
            proc.kill()
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Init timed out after {INIT_TIMEOUT_S:.2f} seconds",
            }
        except ProcessGone:
            self._discard(proc)  # kill the group first: what the init started goes too
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": "RequestId: {request_id} Error: " + proc.exit_message(),
            }
        duration_ms = (time.perf_counter() - proc.started) * 1000
        logs = _ensure_newline(proc.logs.take(LOG_GRACE_S if error else 5.0))
        if error:
            self._discard(proc)
            logs += (
                f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: init\t"
                f"Status: error\tError Type: {error['errorType']}\n"
            )
        self._record(logs)
        return _Init(duration_ms, logs, error, proc.last_maxrss_kb)

    def _discard(self, proc: FunctionProcess) -> None:
        proc.kill()
        with self._proc_lock:
            if self._proc is proc:
                self._proc = None

    def _invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        started = time.perf_counter()
        init, self._pending_init = self._pending_init, None
        with self._proc_lock:
            if self._stopped:
                raise LambdaRuntimeException(f"Execution environment {self.id} was stopped")
            proc = self._proc
        if proc is not None and proc.exited():  # died while idle
            self._discard(proc)
            self._record(proc.logs.take(0))
            proc = None
        if proc is None:  # after a timeout, a crash or a failed init: re-init, as AWS does
            init = self._spawn()
            proc = self._proc
            started = time.perf_counter()  # Duration excludes the init, as on AWS
        if init and init.error:
            error = {
                k: v.replace("{request_id}", request_id) if k == "errorMessage" else v
                for k, v in init.error.items()
            }
            return self._result(request_id, started, init, "", error, status="error")
        assert proc is not None
        deadline_ms = time.time() * 1000 + self._timeout_s * 1000
        try:
            proc.send(
                {
                    "type": "invoke",
                    "id": request_id,
                    "arn": payload.get("invoked-function-arn"),
                    "payload": payload.get("payload") or "{}",
                    "trace_id": payload.get("trace-id"),
                    "deadline_ms": deadline_ms,
                }
            )
            reply = proc.recv(time.monotonic() + self._timeout_s)
        except TimeoutError:
            self._discard(proc)
            logs = _ensure_newline(proc.logs.take(LOG_GRACE_S))
            message = f"Task timed out after {self._timeout_s:.2f} seconds"
            logs += f"{_iso_now()} {request_id} {message}\n"
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: {message}",
            }
            return self._result(request_id, started, init, logs, error, status="timeout", proc=proc)
        except ProcessGone:
            self._discard(proc)
            logs = _ensure_newline(proc.logs.take(LOG_GRACE_S))
            message = f"RequestId: {request_id} Error: {proc.exit_message()}"
            logs += f"{message}\nRuntime.ExitError\n"
            error = {"errorType": "Runtime.ExitError", "errorMessage": message}
            return self._result(request_id, started, init, logs, error, status="error", proc=proc)
        logs = _ensure_newline(proc.logs.take(5.0))
        if not reply.get("ok"):
            return self._result(request_id, started, init, logs, reply["error"], proc=proc)
        body = reply["payload"].encode()
        limit = config.LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES
        if len(body) > limit:
            error = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": (
                    f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                    f"payload size ({limit} bytes)."
                ),
            }
            logs += f"[ERROR] {error['errorType']}: {error['errorMessage']}\n"
            return self._result(request_id, started, init, logs, error, proc=proc)
        return self._result(request_id, started, init, logs, None, body=body, proc=proc)

    def _result(
        self,
        request_id: str,
        started: float,
        init: _Init | None,
        logs: str,
        error: dict[str, Any] | None,
        *,
        body: bytes = b"",
        status: str | None = None,
        proc: FunctionProcess | None = None,
    ) -> InvocationResult:
        """Frame the invocation's logs like AWS (START/END/REPORT) and build the result."""
        duration_ms = (time.perf_counter() - started) * 1000
        memory = self.function_version.config.memory_size
        maxrss_kb = proc.last_maxrss_kb if proc else init.maxrss_kb if init else 0
        used_mb = math.ceil(maxrss_kb / 1024)
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory} MB\t"
            f"Max Memory Used: {used_mb} MB"
        )
        if init:
            report += f"\tInit Duration: {init.duration_ms:.2f} ms"
        if status:
            report += f"\tStatus: {status}"
            if status == "error" and error:
                report += f"\tError Type: {error['errorType']}"
        version = self.function_version.id.qualifier
        framed = (
            (init.logs if init else "")
            + f"START RequestId: {request_id} Version: {version}\n"
            + logs
            + f"END RequestId: {request_id}\n"
            + report
            + "\n"
        )
        self._record(framed[len(init.logs) :] if init else framed)  # init logs: already recorded
        payload = json.dumps(error).encode() if error is not None else body
        return InvocationResult(request_id, payload, is_error=error is not None, logs=framed)

    def _log_file_path(self) -> Path | None:
        root = os.environ.get(LOG_DIR_ENV)
        if not root:
            return None
        return Path(root) / self.function_version.id.function_name / f"{self.id}.log"

    def _record(self, text: str) -> None:
        """Keep the environment's output for get_logs() and append it to its log file."""
        if not text:
            return
        self._history.append(text)
        self._history_chars += len(text)
        while self._history_chars > _HISTORY_CHARS and len(self._history) > 1:
            self._history_chars -= len(self._history.popleft())
        if self._log_file:
            try:
                self._log_file.parent.mkdir(parents=True, exist_ok=True)
                with self._log_file.open("a", encoding="utf-8") as f:
                    f.write(text)
            except OSError as e:
                LOG.debug("Cannot write %s: %s", self._log_file, e)
