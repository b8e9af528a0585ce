"""Messages in the user's language: gettext catalogs in ``openras/locales/<lang>/LC_MESSAGES``.

The English text is the message id (``codes/locales/en.py`` for RAS / Win32 / WN codes, the
``_()`` strings of the CLIs), so English needs no catalog and is what every lookup falls back
to. The language comes from the environment as GNU gettext reads it (``LANGUAGE``, then the
first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), or from an HTTP ``Accept-Language`` header in
the daemon. Only the catalog files are used, never ``setlocale``: a language works even when
its system locale is not generated. ``OPENRAS_LANG`` overrides the environment (kept for
compatibility with earlier releases).
"""

from __future__ import annotations

import gettext as _gettext
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

DOMAIN = "openras"
LOCALEDIR = Path(__file__).resolve().parent / "locales"
# Catalogs shipped with the package (the tests check every one is complete).
LANGUAGES = ("de", "es", "ru", "zh_TW")
ENGLISH = ("en",)

# Script and region subtags that mean Traditional Chinese.
_TRADITIONAL = {"hant", "tw", "hk", "mo"}
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message


def normalize(tag: str) -> str | None:
    """A POSIX locale name or a BCP 47 tag as a gettext language (``de-DE`` -> ``de_DE``,
    ``zh-Hant`` -> ``zh_TW``, ``C`` -> ``en``); None for nothing usable."""
    tag = tag.strip().split(".", 1)[0].split("@", 1)[0]
    if not tag or tag == "*" or not _TAG.match(tag):
        return None
    if tag in ("C", "POSIX"):
        return "en"
    parts = re.split(r"[-_]", tag)
    lang = parts[0].lower()
    rest = [p.lower() for p in parts[1:]]
    if lang == "zh":
        if _TRADITIONAL & set(rest):
            return "zh_TW"
        return "zh_CN" if rest else "zh"
    region = next((p for p in rest if len(p) == 2 and p.isalpha()), None)
    return f"{lang}_{region.upper()}" if region else lang


def _until_english(languages: Sequence[str]) -> tuple[str, ...]:
    """The languages to look up: English ends the list, as it is the text itself."""
    out: list[str] = []
    for lang in languages:
        if lang == "en" or lang.startswith("en_"):
            break
        if lang not in out:
            out.append(lang)
    return tuple(out)


def env_languages(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The user's languages from the environment, as GNU gettext chooses them."""
    env = os.environ if environ is None else environ
    if forced := env.get("OPENRAS_LANG"):
        return _until_english([n for n in [normalize(forced)] if n] or ["en"])
    locale_name = next((env[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(v)), "")
    # gettext ignores LANGUAGE when the locale is "C": the user asked for no translation.
    preferred = env.get("LANGUAGE", "") if normalize(locale_name) != "en" else ""
    names = [*preferred.split(":"), locale_name]
    return _until_english([n for n in map(normalize, names) if n] or ["en"])


def header_languages(header: str | None) -> tuple[str, ...]:
    """The languages an ``Accept-Language`` header asks for, best first; English without one."""
    if not header:
        return ()
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:32]):  # a header is not a work queue
        tag, _, params = item.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = normalize(tag)
        if lang and q > 0:
            weighted.append((-q, index, lang))
    return _until_english([lang for _, _, lang in sorted(weighted)])


def accept_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``Accept-Language`` header a client sends for the user's languages (None: English)."""
    langs = env_languages(environ)
    if not langs:
        return None
    tags = [lang.replace("_", "-") for lang in langs]
    return ", ".join(
        tag if i == 0 else f"{tag};q={max(0.1, 1 - i / 10):.1f}" for i, tag in enumerate(tags)
    )


@lru_cache(maxsize=64)
def translations(languages: tuple[str, ...]) -> _gettext.NullTranslations:
    """The catalog chain for ``languages`` (NullTranslations, i.e. English, when none exists)."""
    if not languages:
        return _gettext.NullTranslations()
    return _gettext.translation(
        DOMAIN, localedir=str(LOCALEDIR), languages=list(languages), fallback=True
    )


def translate(message: str, languages: Sequence[str] | None = None) -> str:
    """``message`` in ``languages`` (default: the environment's), or unchanged."""
    langs = env_languages() if languages is None else _until_english(languages)
    return translations(langs).gettext(message)


def _(message: str) -> str:
    """The CLIs' gettext: ``message`` in the environment's language."""
    return translate(message)
