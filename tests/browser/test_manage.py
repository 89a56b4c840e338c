"""Adding, duplicating and editing jobs and obliterating a queue, in a real browser.

This module has its own live dashboard and demo data (the `live` fixture is module-scoped), so the
queue it obliterates is not missed by the other browser tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.helpers import LiveDashboard, Watched

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]


def test_add_job_form_points_at_a_json_error(live: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/queue/seed-jobs"))
    page.get_by_role("link", name="Add job").click()
    expect(page.locator("h1")).to_have_text("Add a job to seed-jobs")
    page.locator("input[name=name]").fill("hand-made")
    data = page.locator("textarea[name=data]")
    data.fill('{\n  "tenantId": "acme",\n  "fixtures": ["offers",]\n}')
    check = page.locator("#data-check")
    expect(check).to_contain_text("Not valid JSON")
    expect(data).to_have_attribute("aria-invalid", "true")
    page.locator("input[name=priority]").fill("4")
    page.get_by_role("button", name="Add job").click()
    error = page.locator("#notices .notice-line.bad")
    expect(error).to_contain_text("The data is not valid JSON")
    expect(error).to_contain_text("line 3, column 25")
    watched.screenshot("add-job-json-error")

    data.fill('{\n  "tenantId": "acme",\n  "fixtures": ["offers"],\n  "note": "zoë"\n}')
    expect(check).to_have_text("Valid JSON.")
    page.get_by_role("button", name="Add job").click()
    added = page.locator("#notices .notice-line.ok")
    expect(added).to_contain_text("Added job")
    job_id = re.search(r"Added job (\S+)", added.inner_text()).group(1)
    job = live.api(f"/queues/seed-jobs/jobs/{job_id}")
    assert job["name"] == "hand-made" and job["state"] == "prioritized"
    assert job["data"] == {"tenantId": "acme", "fixtures": ["offers"], "note": "zoë"}
    assert job["priority"] == 4
    refusals = [e for e in watched.errors if "400" in e and "/seed-jobs/jobs" in e]
    assert len(refusals) == 2, watched.errors  # the browser's and htmx's note of the 400
    watched.errors = [e for e in watched.errors if e not in refusals]
    watched.assert_clean()


def test_duplicate_and_edit_data(live: LiveDashboard, open_page: Opener) -> None:
    [source] = live.api("/queues/batch-jobs/jobs?status=waiting&pageSize=1")["jobs"]
    watched = open_page()
    page = watched.page
    page.goto(live.url(f"/queue/batch-jobs/jobs/{source['id']}"))
    page.get_by_role("link", name="Duplicate").click()
    expect(page.locator("h1")).to_have_text(f"Duplicate job {source['id']}")
    expect(page.locator("input[name=name]")).to_have_value(source["name"])
    page.get_by_role("button", name="Add job").click()
    added = page.locator("#notices .notice-line.ok")
    expect(added).to_contain_text("Added job")
    copy_id = re.search(r"Added job (\S+)", added.inner_text()).group(1)
    original = live.api(f"/queues/batch-jobs/jobs/{source['id']}")
    assert live.api(f"/queues/batch-jobs/jobs/{copy_id}")["data"] == original["data"]

    page.goto(live.url(f"/queue/batch-jobs/jobs/{copy_id}"))
    page.locator("details.edit-data summary").click()
    editor = page.locator("details.edit-data textarea")
    editor.fill('{"reportId": "edited"}')
    page.get_by_role("button", name="Save data").click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text(
        f"Saved the data of job {copy_id}"
    )
    assert live.api(f"/queues/batch-jobs/jobs/{copy_id}")["data"] == {"reportId": "edited"}
    watched.assert_clean()


def test_obliterate_asks_for_the_name_and_force(live: LiveDashboard, open_page: Opener) -> None:
    queue = "dsar-jobs"
    counts = {q["name"]: q for q in live.api("/queues")["queues"]}[queue]["counts"]
    total, active = sum(counts.values()), counts["active"]
    assert active, "the demo leaves jobs active in every queue"
    watched = open_page()
    page = watched.page
    page.goto(live.url(f"/queue/{queue}"))
    page.get_by_role("link", name="Manage").click()
    obliterate = page.locator("#obliterate")
    expect(obliterate).to_contain_text("Pause the queue first")
    page.get_by_role("button", name=f"Pause {queue}").click()

    button = obliterate.get_by_role("button", name=f"Obliterate {queue}")
    expect(button).to_be_disabled()
    name = obliterate.locator("input[name=confirm]")
    name.fill(queue.upper())
    expect(button).to_be_disabled()
    name.fill(queue)
    # Active jobs stop it without force: the button waits for the tick (rough edge 8).
    expect(button).to_be_disabled()
    obliterate.locator("input[name=force]").check()
    expect(button).to_be_enabled()
    watched.screenshot("obliterate-confirmation")

    watched.answer = "accept"
    button.click()
    assert watched.answered == [
        f"confirm: Obliterate {queue} and its {total} jobs? This cannot be undone."
    ]
    # The queue's pages went with it: the browser goes on to the overview, without its card.
    expect(page).to_have_url(re.compile(re.escape(live.url("/")) + r"\?obliterated="))
    expect(page.locator("article.queue-card").first).to_be_visible()
    expect(page.locator(f'article.queue-card[data-queue="{queue}"]')).to_have_count(0)
    assert queue not in {q["name"] for q in live.api("/queues")["queues"]}
    watched.assert_clean()


def test_a_limit_is_removed_by_its_button_not_by_a_blank(
    live: LiveDashboard, open_page: Opener
) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/queue/seed-jobs/manage"))
    concurrency = page.locator("input[name=concurrency]")
    concurrency.fill("3")
    concurrency.press("Enter")
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("At most 3 jobs")
    page.reload()
    # Blank is not "no limit": the browser will not send it, and the server answers 400.
    concurrency.fill("")
    concurrency.press("Enter")
    assert concurrency.evaluate("input => input.validity.valueMissing")
    page.get_by_role("button", name="Remove the limit").first.click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("no global concurrency")
    page.reload()
    expect(page.get_by_text("Now: no limit.").first).to_be_visible()
    watched.assert_clean()
