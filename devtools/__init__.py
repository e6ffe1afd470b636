"""Tools for the kit's own developers, not its users: benchmarks and the README's screenshots.

Outside the ``skybook`` package on purpose (docs/architecture.md says why): they are run
from a checkout (``./scripts/bench``, ``./scripts/screenshots``) and are not installed.
"""
