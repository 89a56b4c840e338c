"""Queue names and job ids with URL characters, clicked through in Chromium: the links open the
right pages and the buttons act on the right job (the browser resolves every URL, as htmx does)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator

import pytest
import redis
from bullmq import Queue
from playwright.sync_api import expect

from dashboard.config import Settings
from dashboard.web import create_app
from tests.helpers import Watched
from tests.uvicorn_thread import serving

pytestmark = pytest.mark.browser

ODD_QUEUE = "we/ird ?#%q"
ODD_JOB = "j/1 ?#%&x"
TRAP_JOB = "../../other"


def in_thread(work: Callable[[], object]) -> None:
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)


@pytest.fixture(scope="module")
def origin(valkey_url: str) -> Iterator[str]:
    redis.Redis.from_url(valkey_url).flushall()

    async def fill() -> None:
        odd = Queue(ODD_QUEUE, {"connection": valkey_url})
        await odd.add("x", {"v": 1}, {"delay": 600_000, "jobId": ODD_JOB})
        await odd.add("t", {"v": 2}, {"delay": 600_000, "jobId": TRAP_JOB})
        await odd.close()
        other = Queue("other", {"connection": valkey_url})
        for n in range(2):
            await other.add("o", {"n": n}, {"delay": 600_000})
        await other.close()

    in_thread(lambda: asyncio.run(fill()))
    with serving(create_app(Settings(redis_url=valkey_url))) as url:
        yield url


def job_state(url: str, queue: str, job_id: str) -> str:
    async def state() -> str:
        q = Queue(queue, {"connection": url})
        try:
            return await q.getJobState(job_id)
        finally:
            await q.close()

    result: list[str] = []
    in_thread(lambda: result.append(asyncio.run(state())))
    return result[0]


def test_odd_names_open_and_their_buttons_hit_the_right_job(
    origin: str, valkey_url: str, open_page: Callable[..., Watched]
) -> None:
    watched = open_page()
    page = watched.page
    page.goto(f"{origin}/admin/queues/")
    page.locator("#content").get_by_role("link", name=ODD_QUEUE, exact=True).click()
    expect(page.locator("h1, .crumbs").first).to_contain_text(ODD_QUEUE)
    page.locator("a.tab[data-state='delayed']").click()
    expect(page.get_by_role("link", name=TRAP_JOB)).to_be_visible()

    # The trap: Promote on `../../other` must promote that job, not every job of `other`.
    row = page.locator("tr", has=page.get_by_role("link", name=TRAP_JOB, exact=True))
    watched.answer = "accept"  # Promote confirms, as Retry does
    row.get_by_role("button", name="Promote").click()
    expect(page.locator("#notices")).to_contain_text("promoted")
    assert job_state(valkey_url, ODD_QUEUE, TRAP_JOB) == "waiting"
    assert job_state(valkey_url, "other", "1") == "delayed"

    page.get_by_role("link", name=ODD_JOB, exact=True).click()
    expect(page).to_have_url(re.compile(r"/jobs/j%2F1%20%3F%23%25%26x$"))
    expect(page.locator("body")).to_contain_text(ODD_JOB)
    page.get_by_role("button", name="Promote now").click()
    expect(page.locator("#notices")).to_contain_text("promoted")
    assert job_state(valkey_url, ODD_QUEUE, ODD_JOB) == "waiting"
    watched.assert_clean()
