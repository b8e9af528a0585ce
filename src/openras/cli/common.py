"""Shared CLI pieces: exit statuses and error lines."""

from __future__ import annotations

import sys

from ..codes import error_string
from ..i18n import _


def exit_status(code: int) -> int:
    """POSIX exit statuses are 8 bits: a RAS code is reported modulo 256, never as 0 for a failure.

    The full code is always printed; ``--json`` output carries it too.
    """
    if code == 0:
        return 0
    return code % 256 or 255


def print_ras_error(code: int, detail: str = "") -> None:
    print(
        _("Remote Access error {code} - {message}").format(code=code, message=error_string(code)),
        file=sys.stderr,
    )
    if detail:
        print(f"  ({detail})", file=sys.stderr)
