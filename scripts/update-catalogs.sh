#!/usr/bin/env bash
# Re-extract the message catalog, merge it into every language and compile the .mo files.
# The .mo files are committed (the package works from a checkout, `pip install -e .` and a
# wheel alike, with no build step); tests/test_i18n_catalogs.py fails when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
LOCALES=src/openras/locales
mkdir -p "$LOCALES"
PYTHONPATH=src "$PY" -m babel.messages.frontend extract -F babel.cfg --no-location \
  --sort-output --no-wrap --project openras --version 0.1 --copyright-holder "openras authors" \
  --add-comments TRANSLATORS: -o "$LOCALES/openras.pot" src/openras 2>&1 | { grep -v "^extracting" || true; }
for lang in de es ru zh_TW; do
  po="$LOCALES/$lang/LC_MESSAGES/openras.po"
  if [ -f "$po" ]; then
    "$PY" -m babel.messages.frontend update -D openras -i "$LOCALES/openras.pot" \
      -d "$LOCALES" -l "$lang" --no-wrap --ignore-obsolete --no-fuzzy-matching
  else
    "$PY" -m babel.messages.frontend init -D openras -i "$LOCALES/openras.pot" \
      -d "$LOCALES" -l "$lang" --no-wrap
  fi
done
"$PY" -m babel.messages.frontend compile -D openras -d "$LOCALES" --statistics
