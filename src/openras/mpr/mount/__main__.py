"""Entry point of the mount child process (see child.py)."""

import sys

from .child import main

sys.exit(main())
