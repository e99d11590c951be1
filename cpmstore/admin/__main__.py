"""``python -m cpmstore.admin``: the same program as ``cpmstore-admin``."""

import sys

from . import main

sys.exit(main())
