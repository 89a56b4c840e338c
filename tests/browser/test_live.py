"""Live updates in Chromium: counts change without a reload; a hidden tab stops watching."""

from __future__ import annotations

import asyncio
import time

import pytest
from bullmq import Queue
from playwright.sync_api import expect

from tests.helpers import in_thread

pytestmark = pytest.mark.browser

WAITING = 'article.queue-card[data-queue="seed-jobs"] .count[data-state="waiting"] dd'
# A function, not a string: a string would need eval, which the page's CSP forbids.
CHANGED = "([selector, before]) => document.querySelector(selector).innerText !== before"


def add_job(url: str, count: int = 1, name: str = "live-check") -> list[str]:
    ids: list[str] = []

    async def add() -> None:
        queue = Queue("seed-jobs", {"connection": url})
        for n in range(count):
            ids.append((await queue.add(name, {"n": n})).id)
        await queue.close()

    in_thread(lambda: asyncio.run(add()))
    return ids


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def set_visibility(page, state: str) -> None:
    page.evaluate(
        """(state) => {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def open_watched(live, open_page, path: str, counter: str):
    """A page open and listening, marked so a reload would show, and the counter it shows."""
    watched = open_page()
    page = watched.page
    page.goto(live.url(path))
    watcher = live.app.state.board.watcher
    wait_until(lambda: watcher.running)
    page.evaluate("window.__sameDocument = true")
    return watched, page, int(page.inner_text(counter).replace(",", ""))


def test_new_job_shows_up_without_reload(live, open_page) -> None:
    watched, page, before = open_watched(live, open_page, "/", WAITING)
    started = time.monotonic()
    add_job(live.redis_url)
    page.wait_for_function(CHANGED, arg=[WAITING, f"{before:,}"], timeout=5_000)
    assert time.monotonic() - started < 5
    assert int(page.inner_text(WAITING).replace(",", "")) == before + 1
    assert page.evaluate("window.__sameDocument") is True
    assert "Leaving it open" in page.inner_text("footer")
    watched.assert_clean()


def test_hidden_tab_stops_the_watcher_and_catches_up_when_shown(live, open_page) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    watcher = live.app.state.board.watcher
    wait_until(lambda: watcher.running)
    set_visibility(page, "hidden")
    wait_until(lambda: not watcher.running, timeout=3)
    before = int(page.inner_text(WAITING).replace(",", ""))
    add_job(live.redis_url)
    time.sleep(0.5)
    assert int(page.inner_text(WAITING).replace(",", "")) == before  # hidden: nothing asked
    set_visibility(page, "visible")
    wait_until(lambda: watcher.running, timeout=3)
    page.wait_for_function(CHANGED, arg=[WAITING, f"{before:,}"], timeout=5_000)
    watched.assert_clean()


PILL = 'nav.tabs a[data-state="waiting"] .pill'
OFFER = "#queue-head .new-jobs a"


def test_queue_page_counts_update_and_new_rows_are_offered(live, open_page) -> None:
    """New jobs on a queue page: the counts follow within 5 s, the rows stay as they were, and
    "3 new jobs: show" brings them in."""
    watched, page, before = open_watched(live, open_page, "/queue/seed-jobs?status=waiting", PILL)
    rows_before = page.locator("table.jobs tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.jobId)"
    )
    started = time.monotonic()
    ids = add_job(live.redis_url, 3, "offered")
    page.wait_for_function(CHANGED, arg=[PILL, f"{before:,}"], timeout=5_000)
    assert time.monotonic() - started < 5
    expect(page.locator(PILL)).to_have_text(f"{before + 3:,}")
    expect(page.locator(OFFER)).to_have_text("3 new jobs: show")
    # The rows were not re-read: the page still shows what it showed, in the same document.
    rows_now = page.locator("table.jobs tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.jobId)"
    )
    assert rows_now == rows_before
    assert page.evaluate("window.__sameDocument") is True
    for job_id in ids:
        expect(page.locator(f'tr[data-job-id="{job_id}"]')).to_have_count(0)

    watched.screenshot("live-new-jobs-offered")
    page.locator(OFFER).click()
    for job_id in ids:
        expect(page.locator(f'tr[data-job-id="{job_id}"]')).to_have_count(1)
    expect(page.locator(OFFER)).to_have_count(0)
    watched.screenshot("live-new-jobs-shown")
    watched.assert_clean()
