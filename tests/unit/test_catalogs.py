"""Every language is complete: the strings extracted from the templates and Python sources
(babel.cfg, as `make messages` extracts them) are exactly each catalog's, each translated, with
the same placeholders. A new or changed string fails here until `make messages` adds it and it
is translated in every language."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from dashboard import i18n

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("messages", ROOT / "scripts" / "messages.py")
assert _spec and _spec.loader
messages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(messages)

EXTRACTED = messages.extract()


def key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def test_every_locale_but_english_has_a_catalog() -> None:
    assert set(messages.LANGUAGES) == set(i18n.LOCALES) - {i18n.DEFAULT_LOCALE}


@pytest.mark.parametrize("language", messages.LANGUAGES)
def test_catalog_is_complete(language: str) -> None:
    catalog = messages.read(language)
    wanted = {key(m.id): m.id for m in EXTRACTED if m.id}
    have = {key(m.id): m for m in catalog if m.id}
    po = messages.po_path(language).relative_to(ROOT)
    fix = f"run `{messages.COMMAND}`, then translate the new entries of {po}"
    missing = sorted(set(wanted) - set(have))
    assert not missing, f"{language}: not in the catalog: {missing[:10]}; {fix}"
    stale = sorted(set(have) - set(wanted))
    assert not stale, f"{language}: no longer in the sources: {stale[:10]}; {fix}"
    for name, message_id in wanted.items():
        entry = have[name]
        assert entry.id == message_id, f"{language}: {name!r} changed its plural; {fix}"
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert strings and all(strings), f"{language}: {name!r} is not translated; {fix}"
        ids = message_id if isinstance(message_id, tuple) else (message_id,)
        expected = set().union(*(i18n.PLACEHOLDER.findall(i) for i in ids))
        for string in strings:
            found = set(i18n.PLACEHOLDER.findall(string))
            # A singular may say "one" in words instead of its count, as English often does.
            assert found <= expected and expected - found <= {"count", "n", "num"}, (
                f"{language}: {name!r} has placeholders {sorted(found)}, not {sorted(expected)}"
            )
        assert not entry.fuzzy, f"{language}: {name!r} is marked fuzzy; check it and unmark it"
