"""Tools for the kit's own developers, not its users: benchmarks, the README's screenshots and
the offline check of the CI workflows (``./scripts/test`` runs it).

Outside the ``skybook`` package on purpose (docs/architecture.md says why): they are run
from a checkout (``./scripts/bench``, ``./scripts/screenshots``, ``./scripts/test``) and are
not installed.
"""
