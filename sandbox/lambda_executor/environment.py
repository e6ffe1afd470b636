"""The function process's environment variables and command line, in the shape AWS gives them.

Recorded on AWS (python3.12/3.13, LocalStack's snapshot ``test_introspection_invoke``), a
function sees exactly: LocalStack's ``get_environment_variables()`` keys below, plus
``AWS_EXECUTION_ENV``, ``AWS_LAMBDA_RUNTIME_API``, ``LAMBDA_TASK_ROOT``, ``LAMBDA_RUNTIME_DIR``,
``LANG``, ``LC_CTYPE``, ``LD_LIBRARY_PATH``, ``PATH``, ``PWD``, ``PYTHONPATH`` (set by the
runtime once started), ``SHLVL``, ``TZ`` and ``_X_AMZN_TRACE_ID`` (per invoke). AWS's folders
(``/var/lang``, ``/var/runtime``, ``/var/task``, ``/opt``) are the kit's folders here.
Kept beyond AWS's set: what LocalStack's Docker executor injects too (``AWS_ENDPOINT_URL``,
``LOCALSTACK_HOSTNAME``, ``EDGE_PORT``, ``AWS_LAMBDA_FUNCTION_TIMEOUT``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().with_name("var_runtime")
RUNTIME_FILE = RUNTIME_DIR / "runtime.py"
WRAPPER_ENV = "AWS_LAMBDA_EXEC_WRAPPER"
# Where AWS's Runtime API listens inside the sandbox; nothing serves it here (the runtime talks
# to the executor over pipes), but code that reads the variable finds AWS's shape.
RUNTIME_API = "127.0.0.1:9001"

# LocalStack's internal runtime-API variables: meaningless without its Go init, not on AWS.
INTERNAL_ENV = frozenset(
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


# Set by the runtime; AWS refuses them in a function's configuration.
_RESERVED = frozenset(
    {"AWS_EXECUTION_ENV", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}
)


@dataclass(frozen=True)
class Layout:
    """Where this environment's parts are on the host."""

    interpreter: str
    runtime: str  # pythonX.Y
    task_root: str
    layer_roots: Sequence[str]  # in the function's order; later ones win, as in /opt

    @property
    def version(self) -> str:
        return self.runtime.removeprefix("python")

    def layer_paths(self) -> list[str]:
        """The /opt/python equivalents on sys.path, in AWS's order (site-packages first)."""
        paths: list[str] = []
        for root in reversed(self.layer_roots):
            paths.append(str(Path(root, "python", "lib", f"python{self.version}", "site-packages")))
        paths += [str(Path(root, "python")) for root in reversed(self.layer_roots)]
        return paths


def function_env(
    layout: Layout, localstack_env: Mapping[str, object], user_env: Mapping[str, str]
) -> dict[str, str]:
    """LocalStack's variables plus the runtime's, AWS-shaped; then the function's own
    (``user_env``), which may replace the unreserved ones (PATH, LANG, TZ, ...) as on AWS."""
    bin_dir = Path(layout.interpreter).parent
    lang_lib = bin_dir.parent / "lib"
    layers = list(reversed(layout.layer_roots))
    env = {k: str(v) for k, v in localstack_env.items() if k not in INTERNAL_ENV}
    env.update(
        {
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{layout.runtime}",
            "AWS_LAMBDA_RUNTIME_API": RUNTIME_API,
            "LAMBDA_TASK_ROOT": layout.task_root,
            "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
            "LANG": "en_US.UTF-8",
            "LC_CTYPE": "C.UTF-8",  # Python's locale coercion sets it on AWS
            "TZ": ":UTC",
            "PATH": ":".join(
                [str(bin_dir), "/usr/local/bin", "/usr/bin/", "/bin"]
                + [f"{root}/bin" for root in layers]
            ),
            "LD_LIBRARY_PATH": ":".join(
                [str(lang_lib), "/lib64", "/usr/lib64", str(RUNTIME_DIR), f"{RUNTIME_DIR}/lib"]
                + [layout.task_root, f"{layout.task_root}/lib"]
                + [f"{root}/lib" for root in layers]
            ),
            "PWD": layout.task_root,
            "SHLVL": "0",  # AWS's bootstrap is a bash script that execs the runtime
        }
    )
    env.update({k: v for k, v in user_env.items() if k not in _RESERVED})
    return env


class WrapperError(Exception):
    """``AWS_LAMBDA_EXEC_WRAPPER`` cannot run; ``log`` and ``exit_status`` are AWS's."""

    def __init__(self, log: str, exit_status: int) -> None:
        super().__init__(log)
        self.log = log
        self.exit_status = exit_status


def host_path(path: str, layout: Layout) -> str:
    """An AWS path (/var/task/..., /opt/...) as it is on this host; others unchanged."""
    if path == "/var/task" or path.startswith("/var/task/"):
        return layout.task_root + path.removeprefix("/var/task")
    if path.startswith("/opt/"):
        rest = path.removeprefix("/opt")
        for root in reversed(layout.layer_roots):  # the last layer's file is the one in /opt
            if os.path.lexists(root + rest):
                return root + rest
    return path


def command(layout: Layout, env: Mapping[str, str], python_flags: Sequence[str] = ()) -> list[str]:
    """What AWS's ``/var/runtime/bootstrap`` execs: ``[wrapper] python runtime``.

    Our interpreter flags: ``-S`` (no host site-packages; the runtime builds sys.path), ``-s``
    (no user site), ``-u`` (unbuffered, as awslambdaric makes stdout).
    """
    argv = [layout.interpreter, "-S", "-s", "-u", *python_flags, str(RUNTIME_FILE)]
    wrapper = env.get(WRAPPER_ENV)
    if not wrapper:
        return argv
    resolved = host_path(wrapper, layout)
    if not os.path.isfile(resolved):
        raise WrapperError(f"{wrapper}: does not exist", 127)
    if not os.access(resolved, os.X_OK):
        raise WrapperError(f"{wrapper}: is not an executable", 126)
    return [resolved, *argv]
