"""Live updates in Chromium: counts change without a reload; a hidden tab stops watching."""

from __future__ import annotations

import asyncio
import time

import pytest
from bullmq import Queue

from tests.browser.conftest import _in_thread

pytestmark = pytest.mark.browser

WAITING = 'article.queue-card[data-queue="seed-jobs"] a.count[data-state="waiting"] dd'
# A function, not a string: a string would need eval, which the page's CSP forbids.
CHANGED = "([selector, before]) => document.querySelector(selector).innerText !== before"


def add_job(url: str) -> None:
    async def add() -> None:
        queue = Queue("seed-jobs", {"connection": url})
        await queue.add("live-check", {"n": 1})
        await queue.close()

    _in_thread(lambda: asyncio.run(add()))


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


def test_new_job_shows_up_without_reload(live, open_page) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    watcher = live.app.state.board.watcher
    wait_until(lambda: watcher.running)
    page.evaluate("window.__sameDocument = true")
    before = int(page.inner_text(WAITING).replace(",", ""))
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
