"""Actions from the dashboard in a real browser: htmx buttons, confirm dialogs, notices, CSRF.

This module gets its own live dashboard and demo data (the `live` fixture is module-scoped), so
the jobs it retries do not disturb the page tests. Every check is made against the JSON API
before and after, and the page must change without a reload: the action answers a notice into
#notices and an HX-Trigger that makes #content fetch itself again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import redis
from playwright.sync_api import Request, expect

from tests.helpers import LiveDashboard, Watched

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]

RETRY_ONE_QUEUE = "seed-jobs"
RETRY_ALL_QUEUE = "journey-jobs"
DISMISS_QUEUE = "dsar-jobs"
CSRF_QUEUE = "batch-jobs"
# Copies of a real failed job added to RETRY_ALL_QUEUE, so the count needs a thousands separator
# and "Retry all" needs more than one chunk of the retry script.
BULK_FAILED = 1_200


def number(text: str) -> int:
    return int(text.strip().replace(",", ""))


def api_queues(live: LiveDashboard) -> dict[str, dict]:
    """Each queue's counts and pause, less its latency (which grows while the test runs)."""
    queues = live.api("/queues")["queues"]
    return {q["name"]: {k: v for k, v in q.items() if k != "latency"} for q in queues}


def pill(page, state: str):
    return page.locator(f'nav.tabs a.tab[data-state="{state}"] .pill')


@pytest.fixture(scope="module")
def board(live: LiveDashboard) -> Iterator[LiveDashboard]:
    """The demo data plus BULK_FAILED clones of one of RETRY_ALL_QUEUE's failed jobs."""
    client = redis.Redis.from_url(live.redis_url)
    try:
        prefix = f"bull:{RETRY_ALL_QUEUE}"
        (template_id, finished_on), *_ = client.zrange(f"{prefix}:failed", 0, 0, withscores=True)
        template = client.hgetall(f"{prefix}:{template_id.decode()}")
        assert template, "the demo has no failed job to copy"
        pipe = client.pipeline(transaction=False)
        for n in range(BULK_FAILED):
            job_id = f"bulk-{n:04d}"
            pipe.hset(f"{prefix}:{job_id}", mapping=template)
            pipe.zadd(f"{prefix}:failed", {job_id: finished_on})
        pipe.execute()
    finally:
        client.close()
    yield live


def open_failed_tab(watched: Watched, live: LiveDashboard, queue: str) -> None:
    page = watched.page
    response = page.goto(live.url(f"/queue/{queue}?status=failed"))
    assert response is not None and response.status == 200
    page.wait_for_function("() => window.htmx !== undefined")
    # Set on this document only: a reload or a full navigation would lose it.
    page.evaluate("window.__sameDocument = true")


def assert_same_document(watched: Watched, queue: str) -> None:
    page = watched.page
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    expect(page).to_have_url(re.compile(rf"/queue/{re.escape(queue)}\?status=failed$"))
    expect(page.locator("#content")).to_have_count(1)
    expect(page.locator("#notices")).to_have_count(1)


def test_retry_one_failed_job(board: LiveDashboard, open_page: Opener) -> None:
    queue = RETRY_ONE_QUEUE
    before = api_queues(board)[queue]
    assert before["isPaused"] is False
    assert before["counts"]["failed"] > 1

    watched = open_page()
    page = watched.page
    open_failed_tab(watched, board, queue)
    expect(pill(page, "failed")).to_have_text(f"{before['counts']['failed']:,}")

    row = page.locator("table.jobs tbody tr").first
    job_id = row.get_attribute("data-job-id")
    assert job_id
    job = board.api(f"/queues/{queue}/jobs/{job_id}")
    # BullMQ puts a retried job with a priority in the prioritized set, others in wait.
    target = "prioritized" if job.get("priority") else "waiting"

    watched.answer = "accept"
    row.get_by_role("button", name="Retry").click()

    notice = page.locator("#notices .notice-line.ok")
    expect(notice).to_have_text(re.compile(rf"Job {re.escape(job_id)} moved .*back to waiting"))
    assert watched.answered == [f"confirm: Retry job {job_id}?"]

    after = api_queues(board)[queue]
    assert after["counts"]["failed"] == before["counts"]["failed"] - 1
    assert after["counts"][target] == before["counts"][target] + 1
    assert board.api(f"/queues/{queue}/jobs/{job_id}")["state"] == target

    # #content fetched itself again: the pills follow the API, the row has left the table.
    expect(pill(page, "failed")).to_have_text(f"{after['counts']['failed']:,}")
    expect(pill(page, target)).to_have_text(f"{after['counts'][target]:,}")
    expect(page.locator(f'table.jobs tbody tr[data-job-id="{job_id}"]')).to_have_count(0)
    expect(page.locator("table.jobs tbody tr")).to_have_count(after["counts"]["failed"])
    assert_same_document(watched, queue)
    expect(notice).to_be_visible()

    watched.screenshot("retry-done")
    watched.assert_clean()


def test_retry_all_failed_jobs(board: LiveDashboard, open_page: Opener) -> None:
    queue = RETRY_ALL_QUEUE
    before = api_queues(board)[queue]["counts"]
    n = before["failed"]
    assert n > BULK_FAILED
    shown = f"{n:,}"
    assert "," in shown

    watched = open_page()
    page = watched.page
    open_failed_tab(watched, board, queue)
    expect(pill(page, "failed")).to_have_text(shown)

    watched.answer = "accept"
    page.get_by_role("button", name=f"Retry all {shown}").click()

    notice = page.locator("#notices .notice-line.ok")
    expect(notice).to_have_text(f"Retried {shown} failed jobs.")
    assert len(watched.answered) == 1
    assert shown in watched.answered[0], watched.answered

    after = api_queues(board)[queue]["counts"]
    assert after["failed"] == 0
    assert after["waiting"] == before["waiting"] + n

    expect(pill(page, "failed")).to_have_text("0")
    expect(pill(page, "waiting")).to_have_text(f"{after['waiting']:,}")
    expect(page.locator("table.jobs")).to_have_count(0)
    expect(page.locator("section.empty h2")).to_have_text("No failed jobs")
    expect(page.get_by_role("button", name=re.compile(r"^Retry all"))).to_have_count(0)
    assert_same_document(watched, queue)
    watched.screenshot("retry-all-done")
    watched.assert_clean()


def test_dismissed_confirm_changes_nothing(board: LiveDashboard, open_page: Opener) -> None:
    queue = DISMISS_QUEUE
    before = api_queues(board)
    assert before[queue]["counts"]["failed"] > 0

    watched = open_page()
    page = watched.page
    open_failed_tab(watched, board, queue)
    posts: list[str] = []

    def on_request(request: Request) -> None:
        if request.method != "GET":
            posts.append(f"{request.method} {request.url}")

    page.on("request", on_request)
    row = page.locator("table.jobs tbody tr").first
    job_id = row.get_attribute("data-job-id")

    watched.answer = "dismiss"
    row.get_by_role("button", name="Retry").click()
    page.get_by_role("button", name=re.compile(r"^Retry all")).click()
    page.get_by_role("button", name=re.compile(r"^Clean all")).click()
    page.wait_for_timeout(300)

    assert len(watched.answered) == 3, watched.answered
    assert watched.answered[0] == f"confirm: Retry job {job_id}?"
    assert posts == [], posts
    assert api_queues(board) == before
    expect(page.locator("#notices")).to_be_empty()
    expect(page.locator(f'table.jobs tbody tr[data-job-id="{job_id}"]')).to_have_count(1)
    assert_same_document(watched, queue)
    watched.assert_clean()


def test_post_without_csrf_token_is_refused(board: LiveDashboard, open_page: Opener) -> None:
    queue = CSRF_QUEUE
    assert api_queues(board)[queue]["isPaused"] is False

    watched = open_page()
    page = watched.page
    page.goto(board.url(f"/queue/{queue}"))
    pause_url = board.url(f"/api/queues/{queue}/pause")
    post = """async ([url, headers]) => {
        const answer = await fetch(url, {method: "POST", headers});
        return {status: answer.status, body: await answer.text()};
    }"""

    refused = page.evaluate(post, [pause_url, {}])
    assert refused["status"] == 403, refused
    assert "CSRF" in refused["body"], refused
    assert api_queues(board)[queue]["isPaused"] is False

    # The same request with the page's token goes through: the 403 was the missing token.
    headers = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))")
    assert set(headers) == {"X-CSRF-Token"}
    wrong = page.evaluate(post, [pause_url, {"X-CSRF-Token": "x" + headers["X-CSRF-Token"]}])
    assert wrong["status"] == 403, wrong
    assert api_queues(board)[queue]["isPaused"] is False
    accepted = page.evaluate(post, [pause_url, headers])
    assert accepted["status"] == 200, accepted
    assert api_queues(board)[queue]["isPaused"] is True
    resumed = page.evaluate(post, [board.url(f"/api/queues/{queue}/resume"), headers])
    assert resumed["status"] == 200, resumed
    assert api_queues(board)[queue]["isPaused"] is False

    # Chromium reports each refused fetch on the console; those two are expected, nothing else.
    refusals = [e for e in watched.errors if "403" in e and pause_url in e]
    assert len(refusals) == 2, watched.errors
    watched.errors = [e for e in watched.errors if e not in refusals]
    watched.assert_clean()
