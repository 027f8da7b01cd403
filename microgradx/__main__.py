"""``python -m microgradx``: the same as the ``microgradx`` command."""

import sys

from .cli import main

sys.exit(main())
