"""Entry point of ``python -m products``."""

import sys

from products.cli import main

sys.exit(main())
