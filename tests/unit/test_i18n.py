"""Every user-facing message has a Vietnamese translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import CATALOG_DIR, _, translations, use_language

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def source_messages() -> dict[str, str]:
    """msgid → 'file:line' for every marked string in the application code."""
    found: dict[str, str] = {}
    for package in ("bot", "handlers", "scheduler"):
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")], keywords=KEYWORDS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            found.setdefault(msgid, f"{package}/{filename}:{lineno}")
    return found


def catalog(lang: str):
    with (CATALOG_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def test_every_message_has_a_vietnamese_translation() -> None:
    vi = catalog("vi")
    missing = [f"{where}: {msgid!r}" for msgid, where in source_messages().items()
               if not (vi.get(msgid) and vi.get(msgid).string)]
    assert not missing, "untranslated messages:\n" + "\n".join(missing)


def test_english_catalog_lists_every_message() -> None:
    en = catalog("en")
    missing = [msgid for msgid in source_messages() if en.get(msgid) is None]
    assert not missing, missing


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_translations_keep_placeholders_and_markup(lang: str) -> None:
    for message in catalog(lang):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for s in strings:
            if not s:
                continue
            assert sorted(PLACEHOLDER.findall(s)) == sorted(PLACEHOLDER.findall(ids[0])), message.id
            for tag in ("<b>", "</b>", "<i>", "</i>"):
                assert s.count(tag) == ids[0].count(tag), (message.id, tag)


def test_language_is_chosen_per_context() -> None:
    with use_language("vi"):
        assert _("Cancelled.") == "Đã hủy."
        with use_language("en-US"):
            assert _("Cancelled.") == "Cancelled."
        assert _("Cancelled.") == "Đã hủy."
    assert translations("xx").gettext("Cancelled.") == "Cancelled."
