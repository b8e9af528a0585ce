"""RASCS states and RAS / Win32 / WNet error codes with their messages."""

from __future__ import annotations

from collections.abc import Sequence

from .. import i18n
from . import errors
from .errors import NAMES, WN, ErrorCode, error_name
from .states import RASCS, state_name

UNKNOWN = i18n.N_("Unknown error {code}.")

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


def error_string(code: int, lang: str | Sequence[str] | None = None) -> str:
    """The message for ``code`` in ``lang`` (a language, a list of them best first, or None for
    the environment's; see openras.i18n), falling back to English."""
    from .locales import en

    if isinstance(lang, str):
        languages: Sequence[str] | None = [n for n in [i18n.normalize(lang)] if n]
    else:
        languages = lang
    english = en.MESSAGES.get(code)
    if english is None:
        return i18n.translate(UNKNOWN, languages).format(code=code)
    return i18n.translate(english, languages)


class RasError(Exception):
    """A failure carrying a RAS / Win32 error code; ``detail`` is for logs and extended errors."""

    def __init__(self, code: int, detail: str = "", extended: int = 0) -> None:
        self.code = code
        self.detail = detail
        self.extended = extended
        super().__init__(f"{error_name(code)} ({code}): {detail or error_string(code, 'en')}")
