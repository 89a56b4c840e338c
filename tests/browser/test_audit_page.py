"""The audit trail in a browser: a job retried from its page is on /audit with who did it, and
the page reads well at 1280 px and on a phone, light and dark. Its own live dashboard."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.helpers import LiveDashboard, Watched, axe_violations

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
QUEUE = "batch-jobs"
SIZES = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}


def test_a_retry_from_the_job_page_is_on_the_audit_page(
    live: LiveDashboard, open_page: Opener
) -> None:
    job = live.api(f"/queues/{QUEUE}/jobs?status=failed&pageSize=1")["jobs"][0]["id"]
    watched = open_page()
    watched.answer = "accept"
    watched.page.goto(live.url(f"/queue/{quote(QUEUE, safe='')}/jobs/{quote(job, safe='')}"))
    watched.page.get_by_role("button", name="Retry").first.click()
    expect(watched.page.locator("#notices")).to_contain_text(job)
    watched.assert_clean()

    for scheme in ("light", "dark"):
        for width, viewport in SIZES.items():
            watched = open_page(color_scheme=scheme, viewport=viewport)
            page = watched.page
            page.goto(live.url("/audit"))
            row = page.locator('tr[data-action="retry_job"]').first
            expect(row).to_contain_text(job)
            expect(row).to_contain_text("anonymous")
            expect(row).to_contain_text("done 200")
            # The page never scrolls sideways; a wide table scrolls in its own box.
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert axe_violations(page) == [], (scheme, width)
            watched.screenshot(f"audit-{width}-{scheme}")
            watched.assert_clean()

    # Filtered to another action, the retry is not listed.
    watched.page.goto(live.url("/audit?action=pause"))
    expect(watched.page.locator('tr[data-action="retry_job"]')).to_have_count(0)
