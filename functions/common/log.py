"""Structured logging: one JSON object per line on stdout.

CloudWatch (and LocalStack's log capture) keep stdout line by line, so one JSON object
per line stays searchable (``{ $.bookingId = "..." }``). A :class:`BoundLogger` carries
fields such as ``bookingId`` so that every line about a booking names it without each
call site repeating it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from common import clock

_LOGGER_NAME = "skybook"
_RESERVED = {"timestamp", "level", "message", "logger"}


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": clock.iso(clock.now()),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if function:
            line["function"] = function
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                line[key if key not in _RESERVED else f"field_{key}"] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
            line["traceback"] = self.formatException(record.exc_info)
        # ASCII-only: a lone surrogate from a hostile request cannot break the write.
        return json.dumps(line, default=str)


class _StdoutHandler(logging.Handler):
    """Writes to the *current* ``sys.stdout`` (so pytest's capture sees the lines too)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def _base_logger() -> logging.Logger:
    logger = logging.getLogger(_LOGGER_NAME)
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(_JsonFormatter())
        logger.addHandler(handler)
        # Do not also go through the Lambda runtime's root handler (it would print twice).
        logger.propagate = False
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return logger


class BoundLogger:
    """A logger with fields attached to every line; ``bind`` returns a new one with more."""

    def __init__(self, logger: logging.Logger, fields: dict[str, Any] | None = None) -> None:
        self._logger = logger
        self.fields: dict[str, Any] = dict(fields or {})

    def bind(self, **fields: Any) -> BoundLogger:
        return BoundLogger(self._logger, {**self.fields, **fields})

    def _log(self, level: int, message: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(
                level, message, exc_info=exc_info, extra={"fields": {**self.fields, **fields}}
            )

    def debug(self, message: str, /, **fields: Any) -> None:
        self._log(logging.DEBUG, message, False, fields)

    def info(self, message: str, /, **fields: Any) -> None:
        self._log(logging.INFO, message, False, fields)

    def warning(self, message: str, /, **fields: Any) -> None:
        self._log(logging.WARNING, message, False, fields)

    def error(self, message: str, /, **fields: Any) -> None:
        self._log(logging.ERROR, message, False, fields)

    def exception(self, message: str, /, **fields: Any) -> None:
        """Log at ERROR with the current exception's type, message and traceback."""
        self._log(logging.ERROR, message, True, fields)


def get_logger(context: Any = None, **fields: Any) -> BoundLogger:
    """A logger for one invocation, bound to the Lambda request id when there is one."""
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        fields = {"awsRequestId": request_id, **fields}
    return BoundLogger(_base_logger(), fields)
