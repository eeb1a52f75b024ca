"""``python -m roshanai`` = the ``roshanai`` command."""

import sys

from roshanai.cli import main

sys.exit(main())
