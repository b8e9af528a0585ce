"""The message catalogs: every RAS / Win32 / WN code translated in every shipped language, the
placeholders kept, the committed .pot and .mo files current, and the language chosen from the
environment or an Accept-Language header without any system locale."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from openras import i18n
from openras.codes import WN, ErrorCode, error_string
from openras.codes.locales import en

ROOT = Path(__file__).resolve().parents[1]
LOCALES = Path(i18n.__file__).resolve().parent / "locales"
PLACEHOLDER = re.compile(r"\{[a-z_]+(?:![rsa])?\}")
ALL_CODES = sorted({int(c) for c in ErrorCode} | {int(w) for w in WN})


def po(lang: str) -> Catalog:
    with open(LOCALES / lang / "LC_MESSAGES" / "openras.po", "rb") as f:
        return read_po(f, locale=lang)


def fields(text: str) -> list[str]:
    """The str.format placeholders of ``text`` (``{entry}``, ``{pair!r}``); the braces of the
    usage screens (``{YES | NO}``) are text."""
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_code_has_a_translation(lang: str) -> None:
    catalog = po(lang)
    assert set(en.MESSAGES) >= set(ALL_CODES)
    for code in ALL_CODES:
        english = en.MESSAGES[code]
        message = catalog.get(english)
        assert message is not None, f"{lang}: {code} missing"
        assert isinstance(message.string, str) and message.string.strip(), f"{lang}: {code} empty"
        assert not message.fuzzy, f"{lang}: {code} fuzzy"
        # What GetErrorString / the API answer is that translation, not the English fallback.
        assert error_string(code, lang) == message.string != english


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(lang: str) -> None:
    catalog = po(lang)
    messages = [m for m in catalog if m.id]
    assert len(messages) > len(ALL_CODES)  # the CLIs' strings are in it too
    for m in messages:
        assert isinstance(m.id, str) and isinstance(m.string, str)
        assert m.string.strip(), f"{lang}: {m.id!r} untranslated"
        assert not m.fuzzy, f"{lang}: {m.id!r} fuzzy"
        assert fields(m.string) == fields(m.id), f"{lang}: {m.id!r} placeholders differ"
        if fields(m.id):  # a template the code fills with str.format: no stray brace in it
            names = {f.strip("{}").split("!")[0] for f in fields(m.id)}
            m.string.format(**dict.fromkeys(names, "x"))
        # Usage screens keep their layout: as many lines as the English.
        assert m.string.count("\n") == m.id.count("\n"), f"{lang}: {m.id!r} lines differ"


def test_the_catalog_template_holds_what_the_sources_mark() -> None:
    """scripts/update-catalogs.sh was run after the last change to a marked string."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, *_ in extract_from_dir(
            str(ROOT / "src" / "openras"), method_map, options_map
        )
    }
    assert {en.MESSAGES[c] for c in ALL_CODES} <= extracted
    assert "Remote Access error {code} - {message}" in extracted
    with open(LOCALES / "openras.pot", "rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template == extracted
    for lang in i18n.LANGUAGES:
        assert {m.id for m in po(lang) if m.id} == template, lang


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_committed_mo_files_match_their_po(lang: str) -> None:
    with open(LOCALES / lang / "LC_MESSAGES" / "openras.mo", "rb") as f:
        compiled = gettext.GNUTranslations(f)
    for m in po(lang):
        if m.id:
            assert compiled.gettext(str(m.id)) == m.string, f"{lang}: stale .mo for {m.id!r}"


def test_languages_come_from_the_environment_as_gettext_reads_it() -> None:
    env = i18n.env_languages
    assert env({"LANG": "de_DE.UTF-8"}) == ("de_DE",)
    assert env({"LANG": "de_DE.UTF-8", "LC_ALL": "ru_RU.UTF-8"}) == ("ru_RU",)
    assert env({"LANG": "es_ES.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}) == ("zh_TW",)
    assert env({"LANG": "de_DE.UTF-8", "LANGUAGE": "es:ru"}) == ("es", "ru", "de_DE")
    # LANGUAGE is ignored under the C locale; English ends the list (it is the text itself).
    assert env({"LANG": "C.UTF-8", "LANGUAGE": "de"}) == ()
    assert env({"LANG": "de_DE.UTF-8", "LANGUAGE": "en:de"}) == ()
    assert env({}) == ()
    assert env({"LANG": "de_DE.UTF-8", "OPENRAS_LANG": "ru"}) == ("ru",)


def test_accept_language_is_weighed() -> None:
    h = i18n.header_languages
    assert h("ru, de;q=0.9") == ("ru", "de")
    assert h("de;q=0.2, es-MX;q=0.8, *;q=0.1") == ("es_MX", "de")
    assert h("zh-Hant-TW") == h("zh-TW") == h("zh-Hant") == ("zh_TW",)
    assert h("zh-CN") == ("zh_CN",)  # Simplified Chinese is not Traditional: English
    assert h("en-US, de;q=0.5") == ()
    assert h("de;q=0, ru") == ("ru",)
    assert h("de;q=abc, ../../etc, es") == ("es",)
    assert h(None) == h("") == ()
    assert i18n.header_languages(i18n.accept_language({"LANG": "zh_TW.UTF-8"})) == ("zh_TW",)
    assert i18n.accept_language({"LANG": "C"}) is None


def test_lookup_needs_no_system_locale() -> None:
    """No de/es/ru/zh_TW locale has to be generated: only the catalogs are read."""
    code = (
        "from openras.codes import error_string; from openras.i18n import _;"
        "print(error_string(691)); print(_('No connections'))"
    )
    src = str(Path(i18n.__file__).resolve().parents[1])
    expected = {
        "de_DE.UTF-8": ("Die Remoteverbindung wurde verweigert", "Keine Verbindungen"),
        "es_ES.UTF-8": ("Se denegó la conexión remota", "No hay conexiones"),
        "ru_RU.UTF-8": ("Удаленное подключение запрещено", "Нет подключений"),
        "zh_TW.UTF-8": ("遠端連線被拒", "沒有連線"),
        "fr_FR.UTF-8": ("The remote connection was denied", "No connections"),
    }
    for lang, (error, line) in expected.items():
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={"LANG": lang, "PYTHONPATH": src, "PYTHONIOENCODING": "utf-8"},
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=True,
        ).stdout.splitlines()
        assert out[0].startswith(error) and out[1] == line, (lang, out)


def test_translate_passes_provider_text_through() -> None:
    """WNetGetLastError's text: a catalog message is translated, a provider's own text kept."""
    assert i18n.translate(en.MESSAGES[67], ["de"]) == "Der Netzwerkname wurde nicht gefunden."
    assert i18n.translate("STATUS_LOGON_FAILURE from smbd", ["de"]) == (
        "STATUS_LOGON_FAILURE from smbd"
    )


def test_the_package_build_ships_the_compiled_catalogs(tmp_path: Path) -> None:
    """`pip install .` needs no compile step: the .mo files are package data. setuptools'
    build_py (what a wheel is made of) runs on a clean copy, so no stale egg-info helps."""
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    out = tmp_path / "lib"
    build = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, setuptools; sys.argv[1:] = ['-q', 'build_py', '-d', sys.argv[1]];"
            " setuptools.setup()",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tree,
    )
    assert build.returncode == 0, build.stderr
    for lang in i18n.LANGUAGES:
        mo = out / "openras" / "locales" / lang / "LC_MESSAGES" / "openras.mo"
        assert mo.read_bytes() == (LOCALES / lang / "LC_MESSAGES" / "openras.mo").read_bytes()
