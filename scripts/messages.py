"""`make messages`: extract every translatable string from the templates and the Python sources
(babel.cfg says which files, and how) and bring each catalog under locales/ up to date: new
strings are added untranslated, strings no longer used are dropped. Then fill in the empty
msgstr entries; tests/unit/test_catalogs.py fails until every one is translated.

    .venv/bin/python scripts/messages.py           update the catalogs
    .venv/bin/python scripts/messages.py --check   list what is missing, change nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES_DIR = ROOT / "locales"
# Languages with a catalog: every locale but English, whose text the msgids are.
LANGUAGES = ("de", "es", "fr", "pt_BR", "ja", "zh_Hans_CN")
# dashboard/i18n.py's markers: N_ and T_ (msgid, **params), Np_ and Tp_ (singular, plural, n).
KEYWORDS = {**DEFAULT_KEYWORDS, "Np_": (1, 2), "T_": None, "Tp_": (1, 2)}
COMMAND = "make messages"


def extract() -> Catalog:
    """Every string the sources ask to translate, as a catalog template."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    template = Catalog(project="Drainboard", charset="utf-8")
    found = extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    )
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"


def read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, project="Drainboard", charset="utf-8")
    with path.open("rb") as po:
        return read_po(po, locale=language)


def update() -> None:
    template = extract()
    for language in LANGUAGES:
        catalog = read(language)
        created = catalog.creation_date
        # No fuzzy matching: a changed string must be translated again, not guessed at.
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        # The header keeps its date: a run that changes no string changes no file (and two
        # branches that each ran it do not conflict over one line).
        catalog.creation_date = created
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            # No line numbers: an edit elsewhere in a file must not touch every catalog.
            write_po(po, catalog, ignore_obsolete=True, width=100, include_lineno=False)
        missing = sum(1 for m in catalog if m.id and not all(_strings(m.string)))
        print(f"{language}: {len(catalog)} messages, {missing} to translate in {path}")


def _strings(string: object) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, (list, tuple)) else (str(string or ""),)


if __name__ == "__main__":
    if "--check" in sys.argv:
        template = extract()
        for language in LANGUAGES:
            catalog = read(language)
            ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
            for message in template:
                key = message.id if isinstance(message.id, str) else message.id[0]
                if message.id and (key not in ids or not all(_strings(catalog[key].string))):
                    print(f"{language}: {key!r}")
    else:
        update()
