"""gettext for every user-facing string: catalogs under bot/i18n/<lang>/LC_MESSAGES/messages.po.

Message ids are English; `vi` is the default language. The .po files are compiled in
memory on first use, so there is no build step and no stale .mo file. The language of
the update being handled lives in a ContextVar (`use_language`).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
CATALOG_DIR = Path(__file__).parent

_current: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """Load and compile the catalog of a language (NullTranslations if it has none)."""
    po = CATALOG_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def pick_language(*candidates: str | None) -> str:
    """The first supported language among candidates ('en-US' counts as 'en'), else vi."""
    for c in candidates:
        if c:
            base = c.split("-")[0].split("_")[0].lower()
            if base in LANGUAGES:
                return base
    return DEFAULT_LANGUAGE


def current_language() -> str:
    return _current.get()


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Translate in `lang` inside the block."""
    token = _current.set(pick_language(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """Translate a message into the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now."""
    return message
