"""The console's two errors: one for whoever starts it, one for the page."""

from __future__ import annotations

from skybook.errors import UserError


class ConsoleError(UserError):
    """A console problem the user can fix (its port is taken, a bad port number)."""


class ApiError(UserError):
    """An API answer other than 200, sent as ``{"error": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
