"""Merge the dashboard's translations (src/openras/daemon/dashboard/po/<lang>.po) into the
gettext catalogs (src/openras/locales/<lang>/LC_MESSAGES/openras.po); then run
scripts/update-catalogs.sh. A message the main catalog already translates is kept as it is.

Run from the checkout's root: ``.venv/bin/python scripts/merge-dashboard-catalogs.py``.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po, write_po

LANGUAGES = ("de", "es", "ru", "zh_TW")
FRAGMENTS = Path("src/openras/daemon/dashboard/po")
LOCALES = Path("src/openras/locales")

for lang in LANGUAGES:
    main = LOCALES / lang / "LC_MESSAGES" / "openras.po"
    with open(main, "rb") as f:
        catalog = read_po(f, locale=lang)
    with open(FRAGMENTS / f"{lang}.po", "rb") as f:
        for message in read_po(f, locale=lang):
            have = catalog.get(message.id) if message.id else None
            if message.id and not (have and have.string):
                catalog.add(message.id, message.string)
    with open(main, "wb") as f:
        write_po(f, catalog, width=0, sort_output=True, no_location=True)
    print(f"{main}: merged")
