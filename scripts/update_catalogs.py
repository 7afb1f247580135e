"""Extract every marked message and update the vi/en catalogs (keeping translations).

    python scripts/update_catalogs.py [translations.json]

The optional JSON file maps msgid → Vietnamese text to add (a one-item list for a
plural message, keyed by its singular msgid). English msgids stay
untranslated in the en catalog (gettext falls back to the msgid).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "bot" / "i18n"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    template = Catalog(project="congdoan", charset="utf-8")
    for package in ("bot", "handlers", "scheduler"):
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")], keywords=KEYWORDS
        ):
            template.add(message, locations=[(f"{package}/{filename}", lineno)])
    return template


def update(lang: str, template: Catalog, additions: dict[str, str]) -> None:
    path = CATALOGS / lang / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="congdoan", charset="utf-8")
    catalog.update(template, no_fuzzy_matching=True)
    if lang == "vi":
        for msgid, text in additions.items():
            if msgid in catalog:
                catalog[msgid].string = tuple(text) if isinstance(text, list) else text
    catalog.obsolete.clear()
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, no_location=True, sort_output=True)
    missing = [m.id for m in catalog if m.id and not m.string]
    print(f"{lang}: {len(catalog)} messages, {len(missing)} untranslated")


def main() -> None:
    additions = json.loads(Path(sys.argv[1]).read_text("utf-8")) if len(sys.argv) > 1 else {}
    for lang in ("vi", "en"):
        update(lang, extract(), additions)  # a fresh template each: update() shares Message objects


if __name__ == "__main__":
    main()
