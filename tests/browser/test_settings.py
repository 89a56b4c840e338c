"""Per-browser settings in a real browser: kept in localStorage, applied to links, theme and
confirmations, and never sent to the server."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.helpers import LiveDashboard, Watched

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]


def test_settings_apply_and_stay_in_the_browser(live: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    page.get_by_role("link", name="Settings").click()
    form = page.locator("form.browser-settings")
    form.locator("select[name=pageSize]").select_option("10")
    form.locator("select[name=status]").select_option("failed")
    form.locator("select[name=theme]").select_option("dark")
    form.locator("select[name=confirm]").select_option("off")
    expect(form.locator(".saved")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    stored = page.evaluate("JSON.parse(localStorage.getItem('drainboard.settings'))")
    assert stored == {"pageSize": "10", "status": "failed", "theme": "dark", "confirm": "off"}
    watched.screenshot("settings-dark")

    # A fresh load keeps them: the form shows them and the theme is set before paint.
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(form.locator("select[name=pageSize]")).to_have_value("10")

    # Queue links open on the chosen tab with the chosen rows per page.
    page.goto(live.url("/"))
    page.locator('article.queue-card[data-queue="journey-jobs"] h2 a').click()
    expect(page).to_have_url(re.compile(r"/queue/journey-jobs\?(.*&)?pageSize=10"))
    expect(page.locator("nav.tabs a.current")).to_have_attribute("data-state", "failed")
    rows = page.locator("table.jobs tbody tr")
    assert rows.count() <= 10

    # Confirm off: Pause runs with no dialog (a dialog would be recorded as a complaint).
    page.get_by_role("button", name="Pause queue").click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("paused")
    page.get_by_role("button", name="Resume queue").click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("resumed")
    watched.assert_clean()
