"""Languages: the catalogs, the locale of the request being answered, and messages that Python
code writes in English and a page shows in its reader's language.

The locale lives in a context variable, set per request by web/middleware/locale.py; code that
runs outside a request (alert emails and webhooks, which go to a team channel) gets the server's
default, `DRAINBOARD_LOCALE`. The catalogs are the .po files under locales/, read once at the
first use (Babel's read_po): the wheel carries the .po files, so no compile step can be missed.
`make messages` re-extracts the strings and updates every catalog; tests/unit/test_catalogs.py
fails on any string that is missing or untranslated.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from gettext import NullTranslations
from importlib.resources import files
from pathlib import Path
from typing import Any

from babel import Locale
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

DEFAULT_LOCALE = "en"
# Every language Drainboard speaks, by Babel's locale id (its catalog's folder name).
LOCALES = ("en", "de", "es", "fr", "pt_BR", "ja", "zh_Hans_CN")
NAMES = {code: Locale.parse(code).get_display_name(code) for code in LOCALES}
# Accept-Language tags that name a language by another spelling: simplified Chinese is asked
# for as zh, zh-CN or zh-Hans; Portuguese without a region gets Brazil's.
ALIASES = {
    "zh": "zh_Hans_CN",
    "zh_cn": "zh_Hans_CN",
    "zh_hans": "zh_Hans_CN",
    "zh_sg": "zh_Hans_CN",
    "pt": "pt_BR",
}
COOKIE = "drainboard_locale"
# A `%(name)s` placeholder: what a translation must keep, name for name.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

_current: ContextVar[str | None] = ContextVar("drainboard_locale", default=None)
_server_default = [DEFAULT_LOCALE]


def locales_dir() -> Path:
    return Path(str(files("dashboard.locales")))


def set_server_default(locale: str | None) -> None:
    """The locale of texts no request asks for (alerts), and of requests that ask for none."""
    _server_default[0] = known_locale(locale) or DEFAULT_LOCALE


def known_locale(value: str | None) -> str | None:
    """`value` as one of LOCALES (any case, `-` or `_`), or None."""
    if not value:
        return None
    return negotiate_locale([value.replace("-", "_")], LOCALES, aliases=ALIASES)


def negotiate(
    accept_language: str | None, chosen: str | None = None, default: str | None = None
) -> str:
    """The picker's choice (a cookie), else the best of Accept-Language, else the default."""
    picked = known_locale(chosen)
    if picked:
        return picked
    preferred = []
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if tag and tag != "*" and q > 0:
            preferred.append((q, tag.strip().replace("-", "_")))
    preferred.sort(key=lambda item: -item[0])  # stable: equal weights keep the header's order
    found = negotiate_locale([tag for _, tag in preferred], LOCALES, aliases=ALIASES)
    return found or default or _server_default[0]


def current() -> str:
    return _current.get() or _server_default[0]


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Within the block, texts are made in `locale`: the JSON API's English, an alert's
    server language during a request in another."""
    token = _current.set(locale)
    try:
        yield
    finally:
        _current.reset(token)


def server_locale() -> str:
    return _server_default[0]


def html_lang(locale: str | None = None) -> str:
    """The BCP 47 tag for `<html lang>`: zh-Hans-CN, pt-BR."""
    return (locale or current()).replace("_", "-")


@functools.cache
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT_LOCALE:
        return NullTranslations()  # the msgids are the English text
    with (locales_dir() / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def number(n: int | float | None, locale: str | None = None) -> str:
    value = n or 0
    if isinstance(value, int) and 0 <= value < 1000:
        # No locale we ship groups or changes digits below 1,000: most counts on a page are
        # these, and Babel's formatting was most of an overview's render (issue 28's bench).
        return str(value)
    return _formatted(value, locale or current())


@functools.lru_cache(maxsize=4096)
def _formatted(value: int | float, locale: str) -> str:
    """Babel's number, kept: a page shows the same counts render after render."""
    return format_decimal(value, locale=locale)


class Text(str):
    """A message written in Python: its value is the English text, which the JSON API answers
    with (machine clients parse it); localized() gives it in the current locale, for pages,
    notices and alerts. Integer parameters are shown as numbers of that locale."""

    msgid: str
    plural: str | None
    n: int | None
    params: dict[str, Any]

    def __new__(
        cls, msgid: str, plural: str | None = None, n: int | None = None, /, **params: Any
    ) -> Text:
        values = {**params, **({"count": n} if n is not None else {})}
        english = msgid if plural is None or n == 1 else plural
        text = super().__new__(cls, english % _shown(values, DEFAULT_LOCALE) if values else english)
        text.msgid, text.plural, text.n, text.params = msgid, plural, n, values
        return text

    def localized(self) -> str:
        if current() == DEFAULT_LOCALE:
            return str(self)
        if self.plural is None:
            pattern = gettext(self.msgid)
        else:
            pattern = ngettext(self.msgid, self.plural, self.n or 0)
        return pattern % _shown(self.params, current()) if self.params else pattern


def _shown(params: dict[str, Any], locale: str) -> dict[str, str]:
    return {
        name: (
            value.localized()
            if isinstance(value, Text) and locale != DEFAULT_LOCALE
            else format_decimal(value, locale=locale)
            if isinstance(value, int) and not isinstance(value, bool)
            else str(value)
        )
        for name, value in params.items()
    }


def N_(msgid: str, /, **params: Any) -> Text:
    """A message to translate where it is shown; `%(name)s` placeholders take `params`."""
    return Text(msgid, **params)


def Np_(singular: str, plural: str, n: int, /, **params: Any) -> Text:
    """A message with a count (`%(count)s`), in the plural form of the reader's language."""
    return Text(singular, plural, n, **params)


def T_(msgid: str, /, **params: Any) -> str:
    """A message translated at once, into the current locale: for texts made outside any
    request, such as alerts (a team channel's language, DRAINBOARD_LOCALE)."""
    return Text(msgid, **params).localized()


def Tp_(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """T_ with a count, as Np_."""
    return Text(singular, plural, n, **params).localized()


def translated(message: Any) -> str:
    """A message as the reader should see it: a Text translated, anything else as it is."""
    return message.localized() if isinstance(message, Text) else str(message)
