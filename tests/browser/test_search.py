"""Search in a real browser: "/" and the top bar's id box, and a queue search slice by slice."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from dashboard import demo
from tests.helpers import LiveDashboard, Watched

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]


def test_slash_focuses_search_and_a_single_match_opens_the_job(
    live: LiveDashboard, open_page: Opener
) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    box = page.locator(".topsearch input")
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    assert box.input_value() == ""  # the "/" itself is not typed into the box
    box.fill(demo.HOSTILE_JOB_ID)
    box.press("Enter")
    expect(page).to_have_url(re.compile(f"/queue/batch-jobs/jobs/{demo.HOSTILE_JOB_ID}$"))
    expect(page.locator("h1")).to_contain_text(demo.HOSTILE_JOB_ID)

    # Id 1 exists in every demo queue: a list, one row per queue, each linking to its job.
    page.keyboard.press("/")
    box.fill("1")
    box.press("Enter")
    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(len(demo.DEMO_QUEUES))
    queues = rows.evaluate_all("rs => rs.map(r => r.dataset.queue)")
    assert sorted(queues) == sorted(demo.DEMO_QUEUES)
    watched.assert_clean()


def test_queue_search_shows_progress_and_searches_further(
    live: LiveDashboard, open_page: Opener
) -> None:
    queue = "batch-jobs"
    total = live.api(f"/queues/{queue}/jobs?status=completed")["total"]
    assert total > 6, "the demo should have completed jobs to search"
    watched = open_page()
    page = watched.page
    page.goto(live.url(f"/queue/{queue}?status=completed"))
    page.locator(".queue-search input[name=data]").fill("RPT_")
    page.locator(".queue-search button").click()
    expect(page).to_have_url(re.compile(r"/queue/batch-jobs/search\?status=completed&data=RPT_"))

    # Three jobs a slice, so "Search further" has work to do.
    page.locator(".search-form input[name=budget]").fill("3")
    page.locator(".search-form button").click()
    rows = page.locator("#search-table tbody tr")
    expect(rows).to_have_count(3)
    progress = page.locator("#search-more .progress-line")
    expect(progress).to_contain_text(f"Searched 3 of {total} jobs")
    first_cost = int(page.locator("#search-more [data-commands]").get_attribute("data-commands"))
    assert 0 < first_cost <= 3 + 3

    page.get_by_role("button", name="Search further").click()
    expect(rows).to_have_count(6)
    expect(progress).to_contain_text(f"Searched 6 of {total} jobs")
    spent = int(page.locator("#search-more [data-commands]").get_attribute("data-commands"))
    assert first_cost < spent <= 2 * (3 + 3)
    ids = rows.evaluate_all("rs => rs.map(r => r.dataset.jobId)")
    first_six = live.api(f"/queues/{queue}/jobs?status=completed&pageSize=6")["jobs"]
    listed = [job["id"] for job in first_six]
    assert ids == listed  # the slices, in order, are the state's first jobs, none twice
    watched.screenshot("search-progress")

    # To the end: the button goes away and the page says the whole state was searched.
    while page.get_by_role("button", name="Search further").count():
        before = rows.count()
        page.get_by_role("button", name="Search further").click()
        expect(rows).not_to_have_count(before)
    expect(progress).to_contain_text(f"Searched {total} of {total} jobs")
    expect(page.locator("#search-more")).to_contain_text("Reached the end")
    expect(rows).to_have_count(total)
    watched.assert_clean()
