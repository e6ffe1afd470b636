"""One module per group of ``skybook`` commands; each command module has
``register(subparsers)``; shared helpers (context, output, views) have none.

``skybook.cli`` finds every module here, so a new command never edits a shared list.
"""
