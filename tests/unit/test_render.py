from datetime import timedelta

from babel import Locale
from babel.dates import format_timedelta

from dashboard import i18n
from dashboard.web.render import (
    TREE_NODE_LIMIT,
    bar_segments,
    duration,
    json_tree,
    relative_time,
    size,
)


def test_relative_times_kept_by_unit_and_count_say_what_babel_says() -> None:
    """Around every unit's rounding edges, both ways, in every language, one after another (so
    a text kept for one language or delta is never given for another)."""
    now = 1_800_000_000_000
    edges = [1_000, 1_499, 1_500, 2_500, 59_499, 59_500, 89_999, 90_000, 3_569_999, 3_570_000]
    edges += [86_399_000, 129_600_000, 604_800_000, 2_592_000_000, 31_536_000_000 * 3]
    for locale in i18n.LOCALES:
        with i18n.speaking(locale):
            for delta in [*edges, *(-d for d in edges)]:
                said = format_timedelta(
                    timedelta(seconds=delta / 1000),
                    threshold=1,
                    add_direction=True,
                    locale=Locale.parse(locale),
                )
                assert relative_time(now + delta, now) == said, (locale, delta)


def test_relative_time() -> None:
    now = 1_000_000_000
    assert relative_time(now - 500, now) == "just now"
    assert relative_time(now - 5 * 60_000, now) == "5 minutes ago"
    assert relative_time(now + 2 * 3_600_000, now) == "in 2 hours"
    assert relative_time(None, now) == ""


def test_sizes_and_durations() -> None:
    assert size(512) == "512 B"
    assert size(5 * 1024 * 1024) == "5.0 MB"
    assert duration(250) == "250 ms"
    assert duration(90_000) == "1 min 30 s"


def test_json_tree_escapes_everything() -> None:
    html = str(json_tree({"<b>": "<script>alert(1)</script>", "n": [1, None, True]}))
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;" in html


def test_json_tree_falls_back_to_text_for_huge_values() -> None:
    html = str(json_tree(list(range(TREE_NODE_LIMIT + 10))))
    assert html.startswith("<pre") and "<details" not in html


def test_bar_segments_cover_the_axis() -> None:
    segments = bar_segments({"completed": 3, "failed": 1, "active": 0})
    assert [s[0] for s in segments] == ["completed", "failed"]
    assert abs(sum(width for _, _, width in segments) - 1000) < 0.1
