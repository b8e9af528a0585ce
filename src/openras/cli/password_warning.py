"""A password given on the command line is visible to every local user (``ps``, /proc/PID/cmdline)
for as long as the program runs: the CLIs still accept it, as Windows does, but say so."""

from __future__ import annotations

import sys

from ..i18n import N_, _

TEXT = N_(
    "Warning: a password on the command line can be read by other users of this machine; "
    "give * to be asked for it{instead}."
)
INSTEAD = N_(", or use {option}")


def warn(password: str | None, instead: str = "") -> None:
    """Warn on stderr when ``password`` came from the command line (``*`` and empty ones are
    fine)."""
    if password and password != "*":
        more = _(INSTEAD).format(option=instead) if instead else ""
        print(_(TEXT).format(instead=more), file=sys.stderr)
