"""A password given on the command line is visible to every local user (``ps``, /proc/PID/cmdline)
for as long as the program runs: the CLIs still accept it, as Windows does, but say so."""

from __future__ import annotations

import sys

TEXT = (
    "Warning: a password on the command line can be read by other users of this machine; "
    "give * to be asked for it{instead}."
)


def warn(password: str | None, instead: str = "") -> None:
    """Warn on stderr when ``password`` came from the command line (``*`` and empty ones are
    fine)."""
    if password and password != "*":
        print(TEXT.format(instead=f", or use {instead}" if instead else ""), file=sys.stderr)
