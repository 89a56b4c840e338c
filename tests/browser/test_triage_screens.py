"""The triage views people are shown, at 1280 by 800 and 390 by 844, light and dark, each saved as
a screenshot: a failed list with a row open, a selection with its bar, a job page, the Delayed
tab with scheduler ids, and the cost chart. Each view must fit its width (the page never scrolls
sideways) and must be reachable by keyboard: every button and link in it can take focus."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import LiveDashboard, Watched, fits

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
QUEUE = "batch-jobs"
SIZES = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}


def failed_list_with_a_row_open(page: Page, live: LiveDashboard) -> None:
    page.goto(live.url(f"/queue/{QUEUE}?status=failed"))
    page.locator("table.jobs tbody tr[data-job-id] .peek-toggle").first.click()
    expect(page.locator("tr.peek pre.trace")).to_be_visible()


def selection_with_its_bar(page: Page, live: LiveDashboard) -> None:
    page.goto(live.url(f"/queue/{QUEUE}?status=failed"))
    boxes = page.locator("table.jobs tbody tr[data-job-id] td.pick input")
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.locator("#selection-count")).to_have_text("2 selected")


def job_page(page: Page, live: LiveDashboard) -> None:
    failed = live.api(f"/queues/{QUEUE}/jobs?status=failed&pageSize=1")["jobs"][0]["id"]
    page.goto(live.url(f"/queue/{QUEUE}/jobs/{quote(failed, safe='')}"))
    expect(page.get_by_role("button", name="Retry")).to_be_visible()


def delayed_tab_with_scheduler_ids(page: Page, live: LiveDashboard) -> None:
    page.goto(live.url(f"/queue/{QUEUE}?status=delayed"))
    ids = page.locator("table.jobs td.id").all_inner_texts()
    assert any(i.startswith("repeat:") for i in ids), ids


def cost_chart(page: Page, live: LiveDashboard) -> None:
    page.goto(live.url("/cost"))
    expect(page.locator("ol.cost-bars li").first).to_be_visible()


VIEWS = {
    "failed-row-open": failed_list_with_a_row_open,
    "selection-bar": selection_with_its_bar,
    "job-page": job_page,
    "delayed-schedulers": delayed_tab_with_scheduler_ids,
    "cost-chart": cost_chart,
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_the_triage_views_fit_and_are_reachable_by_keyboard(
    live: LiveDashboard, open_page: Opener, size: str, scheme: str
) -> None:
    for name, show in VIEWS.items():
        watched = open_page(color_scheme=scheme, viewport=SIZES[size])
        show(watched.page, live)
        fits(watched.page)
        watched.screenshot(f"triage-{name}-{size}-{scheme}")
        watched.assert_clean()
