"""The language machinery without a server: which locale a request gets, messages that stay
English for the JSON API and are translated for people, numbers and times per locale, and
alerts in the server's language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboard import i18n
from dashboard.bullmq.reader import QueueSummary
from dashboard.observe import alerts
from dashboard.web.render import absolute_time, duration, number, relative_time


@pytest.mark.parametrize(
    ("accept", "chosen", "expected"),
    [
        ("de-DE,de;q=0.9", None, "de"),
        ("zh", None, "zh_Hans_CN"),
        ("zh-CN", None, "zh_Hans_CN"),
        ("zh-Hans", None, "zh_Hans_CN"),
        ("pt-BR", None, "pt_BR"),
        ("pt", None, "pt_BR"),
        ("en;q=0.5, ja", None, "ja"),  # the weights, not the order, decide
        ("nl", None, "en"),
        ("de", "fr", "fr"),  # the picker wins
        ("de", "xx", "de"),  # an unknown cookie is ignored
        ("de;q=0, fr", None, "fr"),
    ],
)
def test_negotiate(accept: str, chosen: str | None, expected: str) -> None:
    assert i18n.negotiate(accept, chosen) == expected


def test_a_text_is_english_for_the_api_and_translated_for_people() -> None:
    text = i18n.Np_("Paused %(count)s queue.", "Paused %(count)s queues.", 1200)
    assert text == "Paused 1,200 queues."  # what JSON answers with
    with i18n.speaking("de"):
        assert text.localized() == "1.200 Queues pausiert."
        assert i18n.translated(text) == "1.200 Queues pausiert."
    with i18n.speaking("ja"):
        assert text.localized() == "1,200 個のキューを一時停止しました。"


def test_numbers_and_times_per_locale() -> None:
    now = 1_780_000_000_000
    with i18n.speaking("de"):
        assert number(1234567) == "1.234.567"
        assert relative_time(now - 5 * 60_000, now) == "vor 5 Minuten"
        assert absolute_time(now) == "28.05.2026, 20:26:40 UTC"
        assert duration(1500) == "1,5 s"
    with i18n.speaking("fr"):
        assert number(1234567) == "1\u202f234\u202f567"
    with i18n.speaking("zh_Hans_CN"):
        assert relative_time(now + 2 * 3_600_000, now) == "2小时后"


@pytest.fixture
def german_server() -> Iterator[None]:
    i18n.set_server_default("de")
    yield
    i18n.set_server_default(None)


class _NoRedis:
    def register_script(self, _script: str) -> None:
        return None


def test_alerts_speak_the_servers_language(german_server: None) -> None:
    config = alerts.parse(
        {
            "destination": {"ops": {"url": "https://h.example/x"}},
            "rule": [{"kind": "backlog", "count": 1000}],
        }
    )
    evaluator = alerts.Alerts(_NoRedis(), "bull", config)  # type: ignore[arg-type]
    summary = QueueSummary("mail", {"waiting": 1500, "prioritized": 0}, is_paused=False)
    evaluator.observe(summary, {}, now=0.0)
    [text] = evaluator.holding([summary], now=1.0).values()
    assert text == "mail: 1.500 Jobs warten (mehr als 1.000 wartend)"


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_numbers_below_a_thousand_are_written_as_babel_writes_them(locale: str) -> None:
    """i18n.number skips Babel below 1,000 (most counts on a page): true of every locale we
    ship, and a new one with other digits or grouping fails here."""
    from babel.numbers import format_decimal

    assert [i18n.number(n, locale) for n in range(1000)] == [
        format_decimal(n, locale=locale) for n in range(1000)
    ]
    assert i18n.number(12345, locale) == format_decimal(12345, locale=locale)
