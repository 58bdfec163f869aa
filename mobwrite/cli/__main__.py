"""``python -m mobwrite.cli``: the same as the ``mobwrite`` command."""

import sys

from .main import main

sys.exit(main())
