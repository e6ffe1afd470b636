"""Bootstrap that runs inside every Lambda function process (the AWS Python runtime's job).

Started by the process executor as ``python -I -S -u runtime.py <ctl_in> <ctl_out> <parent_pid>``.
It imports only the standard library (so the function sees nothing of the kit or of LocalStack)
and must keep working on every interpreter it may run on (Python 3.10 and newer).

Protocol: length-prefixed JSON frames (4-byte big-endian length, UTF-8 JSON) on two dedicated
pipes, ``ctl_in`` (executor -> runtime) and ``ctl_out`` (runtime -> executor). fd 1 and 2 are the
function's log stream; after the output of each phase (init, every invoke) the runtime writes
``LOG_MARKER`` there, so the executor can cut the stream per invocation even for C-level writes.
"""

import contextlib
import json
import os
import signal
import struct
import sys
import threading
import time
import traceback

LOG_MARKER = b"\x00SKYBOOK-LOG-END\x00"
_HEADER = struct.Struct(">I")
_RUNTIME_FILE = os.path.abspath(__file__)
_PR_SET_PDEATHSIG = 1

_request_id = ""  # the current invocation's id, for the logging formatter


class Fault(Exception):
    """An error the AWS runtime reports with its own type (Runtime.ImportModuleError, ...)."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class Channel:
    """Framed JSON messages over a pair of pipe fds."""

    def __init__(self, in_fd, out_fd):
        self.in_fd = in_fd
        self.out_fd = out_fd

    def _read_exact(self, n):
        chunks = []
        while n:
            chunk = os.read(self.in_fd, min(n, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def recv(self):
        """Next message, or None when the executor closed the pipe (it is gone)."""
        header = self._read_exact(_HEADER.size)
        if header is None:
            return None
        body = self._read_exact(_HEADER.unpack(header)[0])
        return None if body is None else json.loads(body)

    def send(self, message):
        data = json.dumps(message).encode()
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            view = view[os.write(self.out_fd, view) :]


class LambdaContext:
    """The ``context`` argument, with the fields and method the AWS Python runtime provides."""

    def __init__(self, request_id, invoked_function_arn, deadline_ms, client_context=None):
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        # a string, as on AWS
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = client_context
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def log(self, message):
        sys.stdout.write(str(message))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


def _die_with_parent(parent_pid):
    """Never outlive the executor: PR_SET_PDEATHSIG, plus a watchdog for what it misses."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # not Linux: the watchdog still works
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        _exit_group()

    def watch():
        while True:
            time.sleep(0.25)
            if os.getppid() != parent_pid:
                _exit_group()

    threading.Thread(target=watch, name="skybook-parent-watchdog", daemon=True).start()


def _exit_group():
    """Kill this process and whatever the function started (we lead our process group)."""
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:
        os._exit(1)


def _flush_logs():
    """Flush Python and C stdio buffers, then mark the end of this phase's output."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except Exception:
        pass
    os.write(1, LOG_MARKER)


def _setup_path(task_root, layer_paths, site_dir):
    """sys.path as on AWS: code, layers, stdlib, then the boto3 site (no host site-packages)."""
    stdlib = [p for p in sys.path if p]
    sys.path[:] = [task_root, *layer_paths, *stdlib]
    if site_dir:
        import site

        site.addsitedir(site_dir)  # appends, and honours .pth files like a real site-packages
    for name in ("setquit", "setcopyright", "sethelper"):
        # -S skipped these builtins (exit(), quit(), help()); handlers may use them
        try:
            import site

            getattr(site, name)()
        except Exception:
            pass


def _setup_logging():
    """Root logger handler in the AWS Lambda format: text, or JSON when the function's
    LoggingConfig says so (AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL, set by LocalStack)."""
    import logging

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _request_id
            return True

    class JsonFormatter(logging.Formatter):
        def format(self, record):
            entry = {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "requestId": _request_id,
            }
            if record.exc_info and record.exc_info[0] is not None:
                entry["errorType"] = record.exc_info[0].__name__
                entry["errorMessage"] = str(record.exc_info[1])
                entry["stackTrace"] = traceback.format_tb(record.exc_info[2])
            return json.dumps(entry, default=str)

    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stdout)
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON":
        handler.setFormatter(JsonFormatter())
        root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper())
    else:
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
    root.addHandler(handler)


def _load_handler(handler):
    """Import the handler like awslambdaric does, with its error types and messages."""
    import importlib

    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {e}") from None
    if modname.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {modname} as a handler module",
        )
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}"
        ) from None
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}", trace
        ) from None
    try:
        return getattr(module, fname)
    except AttributeError:
        # not an init error on AWS: every invoke fails with it
        fault = Fault("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'")

        def missing_handler(event, context):
            raise fault

        return missing_handler


def _user_frames(tb):
    """Traceback entries from the function's code: the runtime's own frames are dropped."""
    frames = traceback.extract_tb(tb)
    return [f for f in frames if os.path.abspath(f.filename) != _RUNTIME_FILE]


def _error(exc, request_id):
    if isinstance(exc, Fault):
        return {
            "errorMessage": exc.message,
            "errorType": exc.error_type,
            "requestId": request_id,
            "stackTrace": exc.trace,
        }
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(_user_frames(exc.__traceback__)),
    }


def _log_error(error):
    """Write the error to the log stream the way awslambdaric's log_error does."""
    line = "[ERROR]"
    if error.get("errorType"):
        line += " " + error["errorType"]
    if error.get("errorMessage"):
        line += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [line, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        lines.extend(element.splitlines() or [""])
    sys.stdout.write("\n".join(lines) + "\n")


def _decimal_serializer(o):
    import decimal

    if isinstance(o, decimal.Decimal):
        return float(o)
    raise TypeError(repr(o) + " is not JSON serializable")


def _maxrss_kb():
    """Peak RSS of this process image: VmHWM, since ru_maxrss survives exec (it would report
    the size of the LocalStack process that forked us)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _invoke(handler, message):
    """Run one invocation; returns the result frame."""
    global _request_id
    request_id = message["id"]
    _request_id = request_id
    if message.get("trace_id"):
        os.environ["_X_AMZN_TRACE_ID"] = message["trace_id"]
    context = LambdaContext(
        request_id, message["arn"], message["deadline_ms"], message.get("client_context")
    )
    try:
        try:
            event = json.loads(message["payload"])
        except ValueError as e:
            raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}") from None
        result = handler(event, context)
        try:
            payload = json.dumps(result, default=_decimal_serializer)
        except Exception as e:
            raise Fault("Runtime.MarshalError", f"Unable to marshal response: {e}") from None
        reply = {"type": "result", "id": request_id, "ok": True, "payload": payload}
    except Exception as e:
        error = _error(e, request_id)
        _log_error(error)
        reply = {"type": "result", "id": request_id, "ok": False, "error": error}
    _flush_logs()
    reply["maxrss_kb"] = _maxrss_kb()
    return reply


def main(argv):
    ctl_in, ctl_out, parent_pid = (int(a) for a in argv[1:4])
    sys.argv = [_RUNTIME_FILE]
    _die_with_parent(parent_pid)
    channel = Channel(ctl_in, ctl_out)
    init = channel.recv()
    if init is None:
        _exit_group()
    for name in init.get("unset_env", []):
        os.environ.pop(name, None)  # e.g. LC_CTYPE, added by the interpreter's locale coercion
    _setup_path(init["task_root"], init.get("layer_paths", []), init.get("site_dir"))
    _setup_logging()
    try:
        handler = _load_handler(init["handler"])
    except Exception as e:
        error = _error(e, "")
        _log_error(error)
        _flush_logs()
        channel.send({"type": "init_error", "error": error, "maxrss_kb": _maxrss_kb()})
        sys.exit(1)  # AWS discards an environment whose init failed
    _flush_logs()
    channel.send({"type": "ready", "maxrss_kb": _maxrss_kb()})
    while True:
        message = channel.recv()
        if message is None:  # the executor is gone or stopped us
            _exit_group()
        channel.send(_invoke(handler, message))


if __name__ == "__main__":
    main(sys.argv)
