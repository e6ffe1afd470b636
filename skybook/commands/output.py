"""How commands print: aligned plain-text tables for people, JSON for scripts.

No dependency: a table is a few columns of short values, which ``str.ljust`` handles.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

MISSING = "-"


def cell(value: Any) -> str:
    """One value as a table shows it: ``-`` for nothing, the rest as ``str``."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest value; numeric columns right-aligned."""
    cells = [[cell(v) for v in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} values for {len(headers)} columns: {row}")
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int) and not isinstance(r[i], bool) for r in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(list(headers)), *(line(r) for r in cells)])


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, empty: str = "nothing yet"
) -> None:
    print(table(headers, rows) if rows else f"({empty})")


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def progress(message: str) -> None:
    """A step of a long command, on stderr so stdout stays the result."""
    print(message, file=sys.stderr, flush=True)


def clock(ms: int) -> str:
    """A CloudWatch timestamp (ms) as UTC ``YYYY-MM-DD HH:MM:SS.mmm``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line.strip() else line for line in text.splitlines())
