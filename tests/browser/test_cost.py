"""The cost panel in Chromium: it renders, and the what-if form redraws the chart in place."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

ALWAYS_VALUE = "ol.cost-bars li[data-mode=always] .value"


def test_panel_renders_and_what_if_updates_the_chart(live, open_page) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/cost"))
    assert page.locator("ol.cost-bars rect.meter").count() == 4
    page.wait_for_selector(".live-measure", timeout=20_000)  # the 10 s measurement arrives
    before = page.text_content(ALWAYS_VALUE)
    page.evaluate("window.__sameDocument = true")
    page.fill("input[name=queues]", "50")
    page.dispatch_event("input[name=queues]", "change")
    page.wait_for_function(
        "(before) => document.querySelector('ol.cost-bars .value').textContent !== before",
        arg=before,
        timeout=5_000,
    )
    after = page.text_content(ALWAYS_VALUE)
    as_number = lambda text: int(text.split(" ")[0].replace(",", ""))  # noqa: E731
    assert as_number(after) == 10 * as_number(before)
    assert page.evaluate("window.__sameDocument") is True
    assert "queues=50" in page.url
    watched.screenshot("cost-panel")
    watched.assert_clean()
