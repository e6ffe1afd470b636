"""skybook: one command for the sandbox and the app on it (or on AWS).

Exit codes: 0 success, 1 a problem the message explains, 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable

import botocore.exceptions

import skybook.commands
from bootstrap.errors import friendly_message
from skybook.errors import USER_ERRORS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skybook", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(skybook.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"skybook.commands.{info.name}")
        if hasattr(module, "register"):  # helpers (context, output, views) have none
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except USER_ERRORS as error:
        print(f"skybook: {error}", file=sys.stderr)
        return 1
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        # An AWS call outside the paths that translate their own errors (the sandbox died
        # mid-call, say): still one line, never a traceback.
        unreachable = "the sandbox stopped answering: check it with `skybook status`"
        print(f"skybook: {friendly_message(error, unreachable) or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`skybook events | head -1`): not an error of ours. Python
        # would report the pipe again when it flushes stdout at exit, so point it elsewhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
