"""Gettext for templates and code. French is the source language; catalogues live in ``portal/locale``.

Catalogues are read from their ``.po`` files at start-up (compiled in memory with Babel), so a checkout needs no
build step. The language of a request comes from the ``portal_lang`` cookie; French is the default.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"fr": "Français", "en": "English"}
DEFAULT_LANGUAGE = "fr"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The catalogue of ``language``, compiled from its .po file; untranslated strings stay French."""
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def gettext(message: str) -> str:
    """Translate ``message`` into the language of the current request."""
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Plural-aware translation."""
    return translations(current_language.get()).ngettext(singular, plural, n)


_ = gettext


def pick_language(cookie_value: str | None) -> str:
    """A supported language code from a cookie value."""
    return cookie_value if cookie_value in LANGUAGES else DEFAULT_LANGUAGE
