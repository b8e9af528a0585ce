"""The dashboard's words, in the browser's language where openras has a catalog.

The page gets them once, as JSON (``/ui/session``); machine fields (state names, codes) never
change with the language. When ``openras.i18n`` (gettext catalogs) is present, the strings and
the error messages go through it; otherwise they are English.
"""

from __future__ import annotations

import gettext
import importlib
from typing import Any

from ...codes import error_string


def N_(message: str) -> str:  # gettext's "mark now, translate where shown"
    return message


TEXTS: dict[str, str] = {
    "title": N_("openras dashboard"),
    "connections": N_("Connections"),
    "no_connections": N_("No connections"),
    "phonebook": N_("Phonebook"),
    "no_entries": N_("No phonebook entries"),
    "drives": N_("Network resources"),
    "no_drives": N_("No network resources mapped"),
    "events": N_("Event log"),
    "device": N_("Device"),
    "owner": N_("Owner"),
    "duration": N_("Duration"),
    "addresses": N_("Addresses"),
    "traffic": N_("Traffic"),
    "dial": N_("Dial"),
    "hang_up": N_("Hang up"),
    "hanging_up": N_("Hanging up…"),
    "cancel": N_("Cancel"),
    "user": N_("User name"),
    "password": N_("Password"),
    "domain": N_("Domain"),
    "dial_entry": N_("Dial {entry}"),
    "local_name": N_("Local name"),
    "remote_name": N_("Remote name"),
    "provider": N_("Provider"),
    "status": N_("Status"),
    "map": N_("Map"),
    "map_resource": N_("Map a network resource"),
    "disconnect": N_("Disconnect"),
    "remember": N_("Reconnect at start-up"),
    "any_provider": N_("Any provider"),
    "kinds": N_("Kinds"),
    "handle": N_("Handle"),
    "search": N_("Search"),
    "live_tail": N_("Live tail"),
    "live": N_("Live"),
    "reconnecting": N_("Reconnecting…"),
    "signed_in_as": N_("Signed in as {user}"),
    "sign_out": N_("Sign out"),
    "failed_at": N_("Failed at {step}"),
    "error": N_("Error {code}"),
    "sent": N_("sent"),
    "received": N_("received"),
    "no_stats": N_("no statistics"),
    "not_yours": N_("belongs to {owner}"),
    "session_needed": N_("Run `openras dashboard` to open the dashboard."),
}


def languages(accept_language: str | None) -> tuple[str, ...]:
    """The browser's languages, best first ("en" when openras has no catalogs)."""
    try:
        i18n: Any = importlib.import_module("openras.i18n")
        return tuple(i18n.header_languages(accept_language)) or ("en",)
    except (ImportError, AttributeError):
        pass
    tags = [t.split(";")[0].strip() for t in (accept_language or "").split(",")[:16]]
    return tuple(t.split("-")[0].lower() for t in tags if t.isascii() and t[:2].isalpha()) or (
        "en",
    )


def _translations(langs: tuple[str, ...]) -> gettext.NullTranslations:
    try:
        i18n: Any = importlib.import_module("openras.i18n")
        result: gettext.NullTranslations = i18n.translations(langs)
        return result
    except (ImportError, AttributeError):
        return gettext.NullTranslations()


def texts(langs: tuple[str, ...]) -> dict[str, str]:
    translate = _translations(langs).gettext
    return {key: translate(text) for key, text in TEXTS.items()}


def message(code: int, langs: tuple[str, ...]) -> str:
    """The error's message in the first of ``langs`` that has it, else English."""
    return error_string(code, langs[0] if langs else "en")
