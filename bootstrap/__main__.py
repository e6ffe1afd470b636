"""Run the deployer: ``python -m bootstrap --help``."""

import sys

from bootstrap.cli import main

sys.exit(main())
