"""Run the scoring command line: ``python -m scoring --help``."""

import sys

from .cli import main

sys.exit(main())
