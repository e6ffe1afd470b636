"""Problems the user can fix: one base class for the kit's, one tuple for everyone's.

Every error the kit raises on purpose is a :class:`UserError`; its message is one line that
names the problem and the fix. bootstrap and the sandbox have their own
(:class:`bootstrap.DeployError`, :class:`sandbox.runner.SandboxError`): they cannot share a
base with the kit without importing it, or each other (see docs/architecture.md), so
:data:`USER_ERRORS` lists all three, and the CLI and the load tool catch exactly that.
"""

from __future__ import annotations

from bootstrap.errors import DeployError
from sandbox.runner import SandboxError


class UserError(Exception):
    """Printed as one line (``skybook: <message>``), exit status 1; never a traceback."""


class CliError(UserError):
    """Raised by a command: bad options, nothing running, nothing deployed."""


USER_ERRORS: tuple[type[Exception], ...] = (UserError, DeployError, SandboxError)
