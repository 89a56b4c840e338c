"""The queue page on a phone (390 x 844): the first job row within the first 450 px, the top bar
on one line, the queue's actions in a menu and the state tabs in one sideways-scrolling strip."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.helpers import LiveDashboard, Watched, axe_violations

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_failed_jobs_come_first_on_a_phone(
    live: LiveDashboard, open_page: Opener, scheme: str
) -> None:
    watched = open_page(color_scheme=scheme, viewport=PHONE)
    page = watched.page
    page.goto(live.url("/queue/batch-jobs?status=failed"))
    first = page.locator("table.jobs tbody tr").first.bounding_box()
    assert first is not None
    print(f"first job row at {first['y']:.0f} px ({scheme})")
    assert first["y"] < 450, f"the first job row starts at {first['y']:.0f} px"

    # One line: the top bar is no taller than its tallest item plus its padding.
    bar = page.locator("header.topbar").bounding_box()
    assert bar is not None and bar["height"] < 60, bar
    strip = page.locator("nav.tabs")
    sizes = strip.evaluate("t => [t.scrollWidth, t.clientWidth, t.getBoundingClientRect().height]")
    assert sizes[0] > sizes[1] and sizes[2] < 50, sizes
    # The strip starts at the current tab, in view.
    tab = page.locator("nav.tabs a.tab.current").bounding_box()
    assert tab is not None and tab["x"] >= 0 and tab["x"] + tab["width"] <= PHONE["width"], tab

    retry_all = page.get_by_role("button", name="Retry all 2")
    expect(retry_all).to_be_hidden()
    watched.screenshot(f"phone-failed-{scheme}", full_page=False)
    page.get_by_role("button", name="Actions ▾").click()
    expect(retry_all).to_be_visible()
    expect(page.get_by_role("button", name="Actions ▾")).to_have_attribute("aria-expanded", "true")
    watched.screenshot(f"phone-actions-open-{scheme}", full_page=False)
    assert axe_violations(page) == []
    watched.assert_clean()
