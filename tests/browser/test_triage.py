"""Triage on the queue page: a failed job opens in place, by mouse or keyboard, and is retried
from there with the job page's confirmation. Its own live dashboard (module-scoped)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import redis
from playwright.sync_api import expect

from tests.helpers import LiveDashboard, Watched, axe_violations

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
QUEUE = "batch-jobs"


def focused_job(watched: Watched) -> str | None:
    return watched.page.evaluate(
        "() => { const r = document.activeElement.closest('tr[data-job-id]');"
        " return r && r.dataset.jobId; }"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_failed_job_opens_in_place_by_keyboard(
    live: LiveDashboard, open_page: Opener, scheme: str
) -> None:
    watched = open_page(color_scheme=scheme)
    page = watched.page
    page.goto(live.url(f"/queue/{QUEUE}?status=failed"))
    expect(page.locator("#keys-hint")).to_contain_text("r retries it")
    ids = page.locator("table.jobs tbody tr[data-job-id]").evaluate_all(
        "rs => rs.map(r => r.dataset.jobId)"
    )
    assert len(ids) >= 2

    page.keyboard.press("j")
    assert focused_job(watched) == ids[0]
    page.keyboard.press("j")
    assert focused_job(watched) == ids[1]
    page.keyboard.press("k")
    assert focused_job(watched) == ids[0]

    page.keyboard.press("Enter")
    peek = page.locator(f'tr.peek[data-peek-for="{ids[0]}"]')
    expect(peek).to_be_visible()
    # Right under its row, stack trace first, then data, options, logs and progress.
    assert peek.evaluate("p => p.previousElementSibling.dataset.jobId") == ids[0]
    titles = [t.strip() for t in peek.locator(".peek-part h3").all_text_contents()]
    assert titles[0] == "Failed reason" and titles[1:3] == ["Data", "Options"]
    assert titles[-2].startswith("Logs") and titles[-1] == "Progress"
    expect(peek.locator("pre.trace")).to_contain_text("at ")
    row_toggle = page.locator(f'tr[data-job-id="{ids[0]}"] .peek-toggle')
    expect(row_toggle).to_have_attribute("aria-expanded", "true")
    for name in ("Retry", "Remove", "Duplicate"):
        expect(peek.get_by_role("button", name=name).or_(peek.get_by_role("link", name=name)))
    watched.screenshot(f"triage-failed-expanded-{scheme}")
    assert axe_violations(page) == []

    # r retries through the row's own button: the same question as on the job page.
    watched.answer = "dismiss"
    page.keyboard.press("r")
    page.wait_for_timeout(100)
    assert watched.answered == [f"confirm: Retry job {ids[0]}?"]

    page.keyboard.press("Enter")  # pressed again, the row closes
    expect(peek).to_have_count(0)
    expect(row_toggle).to_have_attribute("aria-expanded", "false")
    watched.assert_clean()


def commands(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def test_opening_a_job_in_place_costs_no_more_than_its_page(live: LiveDashboard) -> None:
    job_id = live.api(f"/queues/{QUEUE}/jobs?status=failed&pageSize=1")["jobs"][0]["id"]
    client = redis.Redis.from_url(live.redis_url)
    costs = {}
    for what, path in (("page", ""), ("peek", "/peek?columns=9")):
        url = live.url(f"/queue/{QUEUE}/jobs/{job_id}{path}")
        httpx.get(url, timeout=10).raise_for_status()  # warm: scripts loaded, catalog read
        before = commands(client)
        httpx.get(url, timeout=10).raise_for_status()
        costs[what] = commands(client) - before
    client.close()
    print(f"commands: job page {costs['page']}, job opened in place {costs['peek']}")
    assert costs["peek"] <= costs["page"], costs


def test_peek_refuses_a_bad_column_count(live: LiveDashboard) -> None:
    job_id = live.api(f"/queues/{QUEUE}/jobs?status=failed&pageSize=1")["jobs"][0]["id"]
    answer = httpx.get(live.url(f"/queue/{QUEUE}/jobs/{job_id}/peek?columns=x"), timeout=10)
    assert answer.status_code == 400
    assert "columns must be a number" in answer.text
