"""RASCS states and RAS / Win32 / WNet error codes with their messages."""

from __future__ import annotations

import importlib
import os

from . import errors
from .errors import NAMES, WN, ErrorCode, error_name
from .states import RASCS, state_name

__all__ = [
    "NAMES",
    "RASCS",
    "WN",
    "ErrorCode",
    "RasError",
    "error_name",
    "error_string",
    "errors",
    "state_name",
]


def _language() -> str:
    for var in ("OPENRAS_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return value.split(".")[0].split("_")[0].lower()
    return "en"


def error_string(code: int, lang: str | None = None) -> str:
    """The message for ``code`` in ``lang`` (default: from the locale), falling back to English."""
    from .locales import en

    lang = lang or _language()
    if lang != "en" and lang.isalpha():
        try:
            catalogue: dict[int, str] = importlib.import_module(
                f"{__name__}.locales.{lang}"
            ).MESSAGES
            if code in catalogue:
                return catalogue[code]
        except ImportError:
            pass
    return en.MESSAGES.get(code, f"Unknown error {code}.")


class RasError(Exception):
    """A failure carrying a RAS / Win32 error code; ``detail`` is for logs and extended errors."""

    def __init__(self, code: int, detail: str = "", extended: int = 0) -> None:
        self.code = code
        self.detail = detail
        self.extended = extended
        super().__init__(f"{error_name(code)} ({code}): {detail or error_string(code, 'en')}")
