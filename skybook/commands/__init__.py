"""One module per group of ``skybook`` commands; each has ``register(subparsers)``.

``skybook.cli`` finds every module here, so a new command never edits a shared list.
"""
