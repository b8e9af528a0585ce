"""``pywintypes.error``: the one exception class of openras.win32ras and openras.win32wnet,
as in pywin32, so ``except pywintypes.error`` catches both."""

from __future__ import annotations


class error(Exception):
    """``(winerror, funcname, strerror)``, also as attributes."""

    def __init__(self, winerror: int, funcname: str, strerror: str) -> None:
        super().__init__(winerror, funcname, strerror)
        self.winerror, self.funcname, self.strerror = winerror, funcname, strerror
