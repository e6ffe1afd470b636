"""Bootstrap that runs inside every Lambda function process (the AWS Python runtime's job).

This folder is the function's ``LAMBDA_RUNTIME_DIR`` (AWS's ``/var/runtime``): it holds this
file only. The executor starts ``[wrapper] python -S -s -u runtime.py`` (the wrapper is
``AWS_LAMBDA_EXEC_WRAPPER``, as AWS's ``/var/runtime/bootstrap`` runs it) with
``_SKYBOOK_RUNTIME=<ctl_in>,<ctl_out>,<parent_pid>`` in its environment, which is removed
before any function code runs. It imports only the standard library (the function sees nothing
of the kit or of LocalStack) and must work on every interpreter it may run on (3.10 and newer).

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
FDS_ENV = "_SKYBOOK_RUNTIME"
_HEADER = struct.Struct(">I")
_RUNTIME_FILE = os.path.abspath(__file__)
_PR_SET_PDEATHSIG = 1
_PR_CAPBSET_DROP = 24
_CAP_SYS_ADMIN = 21
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_NOATIME, _MS_NODIRATIME, _MS_BIND = 32, 1024, 2048, 4096
_MS_REC, _MS_PRIVATE, _MS_RELATIME = 16384, 1 << 18, 1 << 21
# Where AWS has what we keep in the kit's folders; error stack traces show AWS's paths.
TASK_ROOT = "/var/task"
LAYERS_ROOT = "/opt"

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


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent(parent_pid):
    """Never outlive the executor: PR_SET_PDEATHSIG now (the watchdog comes later)."""
    with contextlib.suppress(Exception):  # not Linux: the watchdog still works
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        _exit_group()


def _watch_parent(parent_pid):
    """A thread for what PR_SET_PDEATHSIG misses. Started after the isolation: a process
    with threads cannot enter a new user namespace."""

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


# --- isolation: a read-only task root and a private /tmp, as AWS has them ------------------


def _check(result, what):
    if result != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(libc, source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _locked_flags(path):
    """The mount flags of ``path`` a bind remount must keep (the kernel refuses to drop them)."""
    f = os.statvfs(path).f_flag
    pairs = (
        (os.ST_NOSUID, _MS_NOSUID),
        (os.ST_NODEV, _MS_NODEV),
        (os.ST_NOEXEC, _MS_NOEXEC),
        (os.ST_NOATIME, _MS_NOATIME),
        (os.ST_NODIRATIME, _MS_NODIRATIME),
        (os.ST_RELATIME, _MS_RELATIME),
    )
    return sum(ms for st, ms in pairs if f & st)


def _drop_sys_admin(libc):
    """The function must not undo its mounts: no CAP_SYS_ADMIN, now or after an exec."""
    import ctypes

    libc.prctl(_PR_CAPBSET_DROP, _CAP_SYS_ADMIN, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # 2 x {effective, permitted, inheritable}
    if libc.capget(header, data) == 0:
        for i in range(3):
            data[i] &= ~(1 << _CAP_SYS_ADMIN)
        libc.capset(header, data)


def isolate(spec):
    """Enter a private mount namespace: ``readonly`` paths bind-mounted read-only on
    themselves, a ``tmp_mb`` tmpfs on /tmp (if given). Non-root users get a user namespace for it
    (their uid maps to itself). Returns None, or why it could not be done: then nothing
    changed, and the executor's fallback (a chmod'ed copy, TMPDIR) is all there is.

    ``keep``: folders below /tmp the function still needs once the tmpfs covers /tmp (its
    code, boto3, this runtime, when the kit itself lives below /tmp, as a clone in /tmp
    does). Each is held open before the tmpfs goes on, then bind-mounted back at its own path
    inside it, read-only: the function sees them where they were, and nothing else of the
    host's /tmp."""
    try:
        libc = _libc()
        uid, gid = os.getuid(), os.getgid()
        flags = _CLONE_NEWNS if uid == 0 else _CLONE_NEWNS | _CLONE_NEWUSER
        _check(libc.unshare(flags), "unshare")
    except Exception as e:
        return str(e)
    try:
        if uid != 0:
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"{uid} {uid} 1"),
                ("gid_map", f"{gid} {gid} 1"),
            ):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing leaks to the host
        keep = spec.get("keep") or []
        if spec.get("tmp_mb"):
            held = [os.open(path, os.O_PATH) for path in keep]
            options = f"size={int(spec['tmp_mb'])}m,mode=1777"
            _mount(libc, "tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, options)
            for path, fd in zip(keep, held, strict=True):
                os.makedirs(path, exist_ok=True)
                _mount(libc, f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
                os.close(fd)
        for path in [*spec["readonly"], *keep]:
            _mount(libc, path, path, None, _MS_BIND | _MS_REC)
            locked = _locked_flags(path)
            _mount(libc, None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | locked)
        if not spec.get("probe"):
            _drop_sys_admin(libc)
    except Exception as e:
        # Half-isolated is worse than not at all: the executor restarts us without it.
        sys.stderr.write(f"skybook: isolation failed after unshare: {e}\n")
        _exit_group()
    return None


def _probe(argv):
    """``runtime.py --probe FOLDER``: can this machine isolate? One line of JSON."""
    folder = argv[2]
    error = isolate({"readonly": [folder], "probe": True})
    if error is None:
        try:
            open(os.path.join(folder, ".probe"), "w").close()
            error = "a read-only bind mount stayed writable"
        except OSError:
            try:
                _mount(_libc(), "tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m")
            except OSError as e:
                error = str(e)
    print(json.dumps({"isolated": error is None, "reason": error}))


# --- what the function's code sees ----------------------------------------------------------


class _VirtualPaths:
    """Real folder -> the path AWS has it at, for code objects and stack traces."""

    def __init__(self, task_root, layer_roots, site_dir, version):
        lang = f"/var/lang/lib/python{version}"
        self.code_roots = [(task_root, TASK_ROOT)] + [(r, LAYERS_ROOT) for r in layer_roots]
        here = os.path.dirname(_RUNTIME_FILE)
        stdlib = [p for p in sys.path if p and os.path.isdir(p) and p != here]
        self.all = self.code_roots + ([(site_dir, lang + "/site-packages")] if site_dir else [])
        self.all += [(here, "/var/runtime")]
        self.all += [(p, lang) for p in stdlib if p.endswith(f"python{version}")]
        self.all += [(p, lang + "/lib-dynload") for p in stdlib if p.endswith("lib-dynload")]
        self.all.sort(key=lambda pair: len(pair[0]), reverse=True)  # most specific first

    @staticmethod
    def _map(path, pairs):
        for real, virtual in pairs:
            if path == real or path.startswith(real.rstrip("/") + "/"):
                return virtual + path[len(real.rstrip("/")) :]
        return None

    def code(self, path):
        """Where AWS would have this source file, if it is the function's or a layer's."""
        return self._map(os.path.abspath(path), self.code_roots)

    def real_exists(self, virtual):
        """Whether an AWS path of the function's or a layer's code is a file here."""
        flipped = [(v, r) for r, v in self.code_roots]
        for virtual_root, real_root in flipped:
            mapped = self._map(virtual, [(virtual_root, real_root)])
            if mapped and os.path.exists(mapped):
                return True
        return False

    def shown(self, path):
        return self._map(os.path.abspath(path), self.all) or path


def _install_virtual_filenames(paths):
    """Compile the function's and the layers' modules with AWS's file names (/var/task/...):
    tracebacks, logging and a debugger then name them as on AWS. ``__file__`` stays real;
    no bytecode is cached (AWS's task root is read-only too)."""
    import importlib.machinery as machinery

    class Loader(machinery.SourceFileLoader):
        def get_code(self, fullname):
            source = self.get_data(self.path)
            return self.source_to_code(source, paths.code(self.path) or self.path)

    details = [
        (Loader, machinery.SOURCE_SUFFIXES),
        (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
        (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    ]

    def hook(path):
        if paths.code(path or ".") is None:
            raise ImportError("not the function's code")
        return machinery.FileFinder(path, *details)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def _setup_path(init):
    """sys.path as AWS's bootstrap.py makes it: task root, layers, the boto3 site, the runtime
    dir, the standard library; no site-packages of the host. PYTHONPATH set by the user (or an
    exec wrapper) replaces the layer defaults, as on AWS, and its sitecustomize runs."""
    import site

    task_root, site_dir = init["task_root"], init.get("site_dir")
    user_pythonpath = os.environ.get("PYTHONPATH")
    stdlib = [p for p in sys.path if p and p != os.path.dirname(_RUNTIME_FILE)]
    front = [task_root]
    if not user_pythonpath:
        front += list(init.get("layer_paths", []))
    sys.path[:] = [*front, *([site_dir] if site_dir else []), os.path.dirname(_RUNTIME_FILE)]
    sys.path += [p for p in stdlib if p not in sys.path]
    site.addsitedir(task_root)  # AWS loads the function's .pth files
    if site_dir:
        site.addsitedir(site_dir)
    if not user_pythonpath:
        for layer_path in init.get("layer_paths", []):
            site.addsitedir(layer_path)
        os.environ["PYTHONPATH"] = os.environ.get("LAMBDA_RUNTIME_DIR", "")
    else:
        _run_sitecustomize(user_pythonpath.split(os.pathsep))
    for name in ("setquit", "setcopyright", "sethelper"):
        # -S skipped these builtins (exit(), quit(), help()); handlers may use them
        with contextlib.suppress(Exception):
            getattr(site, name)()


def _run_sitecustomize(entries):
    """What site.py would do at start-up with PYTHONPATH (we run with -S): observability
    wrappers put a sitecustomize there."""
    from importlib.machinery import PathFinder

    if PathFinder.find_spec("sitecustomize", [e for e in entries if e]) is None:
        return
    try:
        import sitecustomize  # noqa: F401
    except Exception as e:
        sys.stderr.write(f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n{e!r}\n")


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


def _start_debugger(debug, paths):
    """Listen for an IDE on loopback and wait until one attaches (``skybook debug``)."""
    sys.path.append(debug["site"])  # debugpy: only in an environment being debugged
    import debugpy

    debugpy.listen(("127.0.0.1", int(debug["port"])))
    # The code runs under AWS's paths (/var/task/...), which the IDE maps to its files; pydevd
    # refuses breakpoints in files it cannot see, so it is told those exist.
    namespace = vars(sys.modules["pydevd_file_utils"])
    exists = namespace["exists"]
    namespace["exists"] = lambda name: exists(name) or paths.real_exists(name)
    print(
        f"skybook: debugger listening on 127.0.0.1:{debug['port']}; "
        "waiting for an IDE to attach (see docs/debugging.md)",
        flush=True,
    )
    debugpy.wait_for_client()


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
        # compiled with its AWS name (/var/task/...), see _install_virtual_filenames
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


_PATHS = None  # _VirtualPaths once the init message is read


def _stack_trace(tb):
    """The traceback as AWS shows it: the runtime's own frames dropped, AWS's paths."""
    frames = []
    for f in traceback.extract_tb(tb):
        if os.path.abspath(f.filename) == _RUNTIME_FILE:
            continue
        shown = _PATHS.shown(f.filename) if _PATHS else f.filename
        frames.append(traceback.FrameSummary(shown, f.lineno, f.name, line=f.line))
    return traceback.format_list(frames)


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
        "stackTrace": _stack_trace(exc.__traceback__),
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
    global _PATHS
    if len(argv) > 1 and argv[1] == "--probe":
        _probe(argv)
        return
    ctl_in, ctl_out, parent_pid = (int(a) for a in os.environ.pop(FDS_ENV).split(","))
    sys.argv = [_RUNTIME_FILE]
    _die_with_parent(parent_pid)
    channel = Channel(ctl_in, ctl_out)
    init = channel.recv()
    if init is None:
        _exit_group()
    not_isolated = isolate(init["isolation"]) if init.get("isolation") else None
    _watch_parent(parent_pid)
    version = "{}.{}".format(*sys.version_info[:2])
    _PATHS = _VirtualPaths(
        init["task_root"], init.get("layer_roots", []), init.get("site_dir"), version
    )
    _install_virtual_filenames(_PATHS)
    _setup_path(init)
    _setup_logging()
    try:
        if init.get("debug"):
            _start_debugger(init["debug"], _PATHS)
        handler = _load_handler(init["handler"])
    except Exception as e:
        error = _error(e, "")
        _log_error(error)
        _flush_logs()
        channel.send({"type": "init_error", "error": error, "maxrss_kb": _maxrss_kb()})
        sys.exit(1)  # AWS discards an environment whose init failed
    _flush_logs()
    channel.send({"type": "ready", "maxrss_kb": _maxrss_kb(), "not_isolated": not_isolated})
    while True:
        message = channel.recv()
        if message is None:  # the executor is gone or stopped us
            _exit_group()
        channel.send(_invoke(handler, message))


if __name__ == "__main__":
    main(sys.argv)
