"""``python -m openras.compat program.py [args]``: see :mod:`openras.compat`."""

from . import main

main()
