"""The English error messages (``en.MESSAGES``): the source of the gettext message ids.

Translations are gettext catalogs in ``openras/locales`` (see openras.i18n), extracted from
``en.py`` by ``openras.i18n_extract``.
"""
