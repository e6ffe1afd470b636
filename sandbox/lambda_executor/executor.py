"""LocalStack RuntimeExecutor that runs each execution environment as a local Python process.

Runs inside LocalStack's process. LocalStack creates one executor per execution environment and
calls start(), invoke() (one at a time), stop(). We talk to the function process over pipes
(see process.py / var_runtime/runtime.py) instead of LocalStack's HTTP executor callbacks: those
made the single-threaded gateway the bottleneck. What the Go init and the sandbox do in a Lambda
container is done here: the timeout, the memory limit, START/END/REPORT log framing, AWS-shaped
platform errors, the exec wrapper, a read-only task root and a private /tmp (isolation.py).
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

from sandbox.lambda_executor.environment import (
    RUNTIME_DIR,
    Layout,
    WrapperError,
    command,
    function_env,
)
from sandbox.lambda_executor.interpreters import InterpreterError, interpreter_for
from sandbox.lambda_executor.isolation import (
    EnvironmentFolder,
    below_tmp,
    copy_tree,
    make_read_only,
    namespaces_available,
)
from sandbox.lambda_executor.process import FunctionProcess, OutOfMemory, ProcessGone
from sandbox.lambda_executor.registry import REGISTRY

LOG = logging.getLogger(__name__)

SITE_ENV = "SKYBOOK_LAMBDA_SITE"
DEBUG_SITE_ENV = "SKYBOOK_LAMBDA_DEBUG_SITE"
LOG_DIR_ENV = "SKYBOOK_LAMBDA_LOG_DIR"
INIT_TIMEOUT_S = 10.0  # AWS's limit for the init phase
LOG_GRACE_S = 0.5  # how long to wait for output after the process ended or was killed
AWS_MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # 6291556, what AWS's message names
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


def _exit_error(kind: str, reason: str) -> dict[str, str]:
    """A platform error as AWS words it; ``{request_id}`` is filled in by the invoke."""
    return {"errorType": kind, "errorMessage": "RequestId: {request_id} Error: " + reason}


def _max_response_bytes() -> int:
    """LocalStack's LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES, which defaults to AWS's."""
    try:
        return int(config.LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES or AWS_MAX_RESPONSE_BYTES)
    except (TypeError, ValueError):
        return AWS_MAX_RESPONSE_BYTES


class ProcessRuntimeExecutor(RuntimeExecutor):
    """One execution environment = one runtime.py process (re-spawned after a timeout/crash)."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._invoke_lock = threading.Lock()  # LocalStack invokes one at a time; be sure
        self._proc_lock = threading.Lock()  # guards _proc/_stopped against a concurrent stop()
        self._proc: FunctionProcess | None = None
        self._proc_key = ""  # the dev-mode settings the process started with
        self._awaiting_init = False  # started under the debugger: the invoke waits for init
        self._debugging = False
        self._stopped = False
        self._localstack_env: dict[str, str] = {}
        self._pending_init: _Init | None = None
        self._history: deque[str] = deque()
        self._history_chars = 0
        self._log_file = self._log_file_path()
        self._folder = EnvironmentFolder(id)

    @property
    def function_name(self) -> str:
        return str(self.function_version.id.function_name)

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

        On demand, an init error (import failure, ...) does not raise: as on AWS, the next
        invoke returns it, with the init logs (raising would make LocalStack answer with an
        internal error instead). A provisioned environment whose init fails does raise: AWS
        marks the provisioned concurrency FAILED.
        """
        self._localstack_env = dict(env_vars)
        self._folder.create()
        REGISTRY.add(self)
        with self._invoke_lock:
            init = self._spawn()
        provisioned = env_vars.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency"
        if init and init.error and provisioned:
            self.stop()
            raise LambdaRuntimeException(
                f"Init failed: {init.error['errorType']}: {init.error['errorMessage']}"
            )
        self._pending_init = init

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        with self._invoke_lock:
            return self._invoke(payload)

    def stop(self) -> None:
        """Stop the environment; an invocation in flight finishes first (within its timeout),
        as on AWS, where an update or a delete does not cut running invocations short."""
        with self._proc_lock:
            already, self._stopped = self._stopped, True
        if already:
            return
        locked = self._invoke_lock.acquire(timeout=self._timeout_s + LOG_GRACE_S)
        try:
            with self._proc_lock:
                proc, self._proc = self._proc, None
            if proc:
                proc.kill()
                self._record(proc.logs.take(0))
        finally:
            if locked:
                self._invoke_lock.release()
            REGISTRY.remove(self)
            self._folder.remove()

    def get_logs(self) -> str:
        return "".join(self._history)

    # --- what the registry asks of an environment ----------------------------------------

    def has_process(self) -> bool:
        return self._proc is not None

    def evict_if_idle(self) -> bool:
        """Stop the process if no invocation runs (the environment re-inits when used)."""
        if not self._invoke_lock.acquire(blocking=False):
            return False
        try:
            proc = self._proc
            if proc is None:
                return False
            self._discard(proc)
            self._record(proc.logs.take(0))
            self._pending_init = None
            return True
        finally:
            self._invoke_lock.release()

    def refresh_if_idle(self) -> None:
        """Hot reload: restart an idle process whose code (or debug setting) changed."""
        if self._proc is None or self._proc_key == self._dev_key():
            return
        if not self._invoke_lock.acquire(blocking=False):
            return  # busy: the next invocation restarts it
        try:
            proc = self._proc
            if self._stopped or proc is None or self._proc_key == self._dev_key():
                return
            self._discard(proc)
            self._record(proc.logs.take(0))
            if self.function_name in REGISTRY.dev.state().debug:
                self._pending_init = None  # the next invocation starts it, under the debugger
            else:
                self._pending_init = self._spawn()
        finally:
            self._invoke_lock.release()

    # --- internals -----------------------------------------------------------------------

    @property
    def _timeout_s(self) -> float:
        return float(self.function_version.config.timeout)

    def _dev_key(self) -> str:
        state = REGISTRY.dev.state()
        return state.key(self.function_name) + json.dumps(state.debug.get(self.function_name))

    def _reserved_concurrency(self) -> int | None:
        from localstack.services.lambda_.invocation.models import lambda_stores

        fid = self.function_version.id
        function = lambda_stores[fid.account][fid.region].functions.get(fid.function_name)
        return None if function is None else function.reserved_concurrent_executions

    def _task_root(self, watched: dict[str, Any] | None, isolated: bool) -> str:
        """The deployed code, or a fresh copy of the working tree (hot reload); a copy without
        write bits where no read-only mount is possible."""
        code = self.function_version.config.code
        if watched is None and isolated:
            return str(code.get_unzipped_code_location())
        task = self._folder.fresh_task()
        if watched is not None:
            for target, source in watched["sources"]:
                skip = watched.get("skip", ())
                copy_tree(Path(source), task / target, link=False, skip=skip, hidden=False)
        else:
            copy_tree(Path(code.get_unzipped_code_location()), task, link=True)
        if not isolated:
            make_read_only(task)
        return str(task)

    def _spawn(self) -> _Init | None:
        """Start a process and wait for its init; None when it waits for a debugger (the next
        invoke waits for its init then)."""
        cfg = self.function_version.config
        interpreter = interpreter_for(cfg.runtime)
        state = REGISTRY.dev.state()
        key = self._dev_key()
        debug = state.debug.get(self.function_name)
        debug_site = os.environ.get(DEBUG_SITE_ENV, "")
        isolated, _reason = namespaces_available(interpreter)
        layer_roots = [str(x.code.get_unzipped_code_location()) for x in cfg.layers if x.code]
        site_dir = os.environ.get(SITE_ENV) or None
        task_root = self._task_root(state.watch.get(self.function_name), isolated)
        layout = Layout(interpreter, cfg.runtime, task_root, layer_roots)
        needed = [task_root, *layer_roots, site_dir or "", str(RUNTIME_DIR), interpreter]
        env = function_env(layout, self._localstack_env, cfg.environment or {})
        if not isolated:
            env["TMPDIR"] = str(self._folder.tmp)
        self._debugging = bool(debug) and REGISTRY.claim_debugger(self)
        REGISTRY.make_room(self, self._reserved_concurrency())
        try:
            argv = command(layout, env, ["-X", "frozen_modules=off"] if self._debugging else [])
        except WrapperError as e:
            error = _exit_error(
                "Runtime.ExitError", f"Runtime exited with error: exit status {e.exit_status}"
            )
            logs = f"{e.log}\n" + self._init_report(0.0, error)
            self._record(logs)
            return _Init(0.0, logs, error)
        keep = below_tmp([*needed, debug_site if debug and self._debugging else ""])
        readonly = [
            r
            for r in (task_root, *layer_roots)
            if not any(Path(r).resolve().is_relative_to(k) for k in keep)
        ]
        isolation = {"readonly": readonly, "keep": keep, "tmp_mb": cfg.ephemeral_storage.size}
        init_message = {
            "type": "init",
            "handler": cfg.handler,
            "task_root": task_root,
            "layer_paths": layout.layer_paths(),
            "layer_roots": layer_roots,
            "site_dir": site_dir,
            "isolation": isolation if isolated else None,
            "debug": {"port": debug["port"], "site": debug_site}
            if debug and self._debugging
            else None,
        }
        proc = FunctionProcess(argv, env, task_root, init_message, cfg.memory_size)
        with self._proc_lock:
            if self._stopped:
                proc.kill()
                raise LambdaRuntimeException(f"Execution environment {self.id} was stopped")
            self._proc, self._proc_key = proc, key
        if self._debugging:
            self._awaiting_init = True
            return None
        return self._await_init(proc, time.monotonic() + INIT_TIMEOUT_S)

    def _await_init(self, proc: FunctionProcess, deadline: float | None) -> _Init:
        """Wait for the process's init; keep it as the current one if it succeeded."""
        self._awaiting_init = False
        error: dict[str, Any] | None = None
        try:
            message = proc.recv(deadline)
            if message["type"] == "init_error":
                error = message["error"]
            elif message.get("not_isolated"):
                LOG.warning(
                    "Environment %s runs without isolation: %s", self.id, message["not_isolated"]
                )
        except TimeoutError:
            proc.kill()
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Init timed out after {INIT_TIMEOUT_S:.2f} seconds",
            }
        except OutOfMemory:
            error = _exit_error("Runtime.OutOfMemory", "Runtime exited with error: signal: killed")
        except ProcessGone:
            self._discard(proc)  # kill the group first: what the init started goes too
            error = _exit_error("Runtime.ExitError", proc.exit_message())
        duration_ms = (time.perf_counter() - proc.started) * 1000
        logs = _ensure_newline(proc.logs.take(LOG_GRACE_S if error else 5.0))
        if error:
            self._discard(proc)
            logs += self._init_report(duration_ms, error)
        self._record(logs)
        return _Init(duration_ms, logs, error, proc.last_maxrss_kb)

    @staticmethod
    def _init_report(duration_ms: float, error: dict[str, Any]) -> str:
        return (
            f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: init\t"
            f"Status: error\tError Type: {error['errorType']}\n"
        )

    def _discard(self, proc: FunctionProcess) -> None:
        proc.kill()
        with self._proc_lock:
            if self._proc is proc:
                self._proc = None
        if self._debugging:
            REGISTRY.release_debugger(self)
            self._debugging = False

    def _invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        init, self._pending_init = self._pending_init, None
        with self._proc_lock:
            if self._stopped:
                raise LambdaRuntimeException(f"Execution environment {self.id} was stopped")
            proc = self._proc
        if proc is not None and (proc.exited() or self._proc_key != self._dev_key()):
            # died while idle, or its code changed (hot reload) or its debug setting
            self._discard(proc)
            self._record(proc.logs.take(0))
            proc, init = None, None
        if proc is None:  # after a timeout, a crash or a failed init: re-init, as AWS does
            init = self._spawn()
            proc = self._proc
        if self._awaiting_init and proc is not None:
            init = self._await_init(proc, None)  # a debugger may take its time
        started = time.perf_counter()  # Duration excludes the init, as on AWS
        if init and init.error:
            error = {
                k: v.replace("{request_id}", request_id) if k == "errorMessage" else v
                for k, v in init.error.items()
            }
            if "requestId" in error:
                error["requestId"] = request_id
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
            # under a debugger, stepping through may take longer than the timeout
            reply = proc.recv(None if self._debugging else time.monotonic() + self._timeout_s)
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
        except ProcessGone as gone:
            self._discard(proc)
            logs = _ensure_newline(proc.logs.take(LOG_GRACE_S))
            kind = "Runtime.OutOfMemory" if isinstance(gone, OutOfMemory) else "Runtime.ExitError"
            reason = "Runtime exited with error: signal: killed" if proc.out_of_memory else None
            message = f"RequestId: {request_id} Error: {reason or proc.exit_message()}"
            logs += f"{message}\n{kind}\n"
            error = {"errorType": kind, "errorMessage": message}
            return self._result(request_id, started, init, logs, error, status="error", proc=proc)
        logs = _ensure_newline(proc.logs.take(5.0))
        if not reply.get("ok"):
            return self._result(request_id, started, init, logs, reply["error"], proc=proc)
        body = reply["payload"].encode()
        limit = _max_response_bytes()
        if len(body) > limit:
            error = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": (
                    f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
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
