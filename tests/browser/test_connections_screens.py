"""Several Redis servers in the browser (issue 27): the front page groups queues by connection
and the switcher lists each connection's queues under its name, at 1280 by 800 and 390 by 844,
light and dark. Each view fits its width, takes keyboard focus everywhere, passes axe-core, and
is saved as a screenshot; a group's PING button shows that connection's round trip."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from bullmq import Queue
from playwright.sync_api import expect

from dashboard.config import DEFAULT_BASE_PATH, NamedConnection, Settings, hosts_for_bind
from dashboard.web.app import create_app
from tests.helpers import (
    LiveDashboard,
    Watched,
    axe_violations,
    fits,
    in_thread,
    only_demo_jobs,
    serving,
    start_valkey,
)

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
SIZES = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
SECOND_QUEUES = ("billing-invoices", "billing-refunds")


async def fill_second(url: str) -> None:
    for name in SECOND_QUEUES:
        queue = Queue(name, {"connection": url})
        for n in range(3):
            await queue.add("charge", {"n": n})
        await queue.close()


@pytest.fixture(scope="module")
def live(valkey_url: str) -> Iterator[LiveDashboard]:
    only_demo_jobs(valkey_url)
    second = start_valkey()
    in_thread(lambda: asyncio.run(fill_second(second.connection_url)))
    settings = Settings(
        redis_url=valkey_url,
        allowed_hosts=hosts_for_bind("127.0.0.1"),
        connections=(
            NamedConnection(name="production", redis_url=valkey_url),
            NamedConnection(name="staging", redis_url=second.connection_url),
        ),
    )
    app = create_app(settings)
    with serving(app) as origin:
        httpx.get(f"{origin}{DEFAULT_BASE_PATH}/api/queues", timeout=10).raise_for_status()
        yield LiveDashboard(origin=origin, redis_url=valkey_url, app=app)
    second.stop()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_the_grouped_overview_and_switcher(
    live: LiveDashboard, open_page: Opener, size: str, scheme: str
) -> None:
    watched = open_page(color_scheme=scheme, viewport=SIZES[size])
    page = watched.page
    page.goto(live.url("/"))
    groups = page.locator("section.connection-group")
    expect(groups).to_have_count(2)
    staging = page.locator('section.connection-group[data-connection="staging"]')
    expect(staging.locator("[data-state=reachable]")).to_be_visible()
    for name in SECOND_QUEUES:
        expect(staging.locator(f'article.queue-card[data-queue="{name}"]')).to_be_visible()
    staging.get_by_role("button", name="PING").click()
    expect(staging.locator(".ping-result")).to_contain_text("PING")
    expect(staging.locator(".ping-result")).to_contain_text("ms")
    fits(page)
    assert axe_violations(page) == []
    page.evaluate("window.scrollTo(0, 0)")  # a sticky top bar is drawn where it was scrolled
    watched.screenshot(f"connections-overview-{size}-{scheme}")

    # The switcher: each connection's queues under its name, linking into that connection.
    if size == "390":
        page.locator(".switcher-toggle").click()
    switcher = page.locator("nav.switcher")
    heads = switcher.locator(".switcher-connection-head")
    expect(heads).to_have_text(["production", "staging"])
    link = switcher.locator('[data-connection="staging"] a', has_text="billing-refunds")
    expect(link).to_be_visible()
    assert link.get_attribute("href") == f"{DEFAULT_BASE_PATH}/c/staging/queue/billing-refunds"
    watched.screenshot(f"connections-switcher-{size}-{scheme}", full_page=False)
    link.click()
    expect(page.locator("a.navlink.connection")).to_have_text("staging")
    expect(page.locator("h1")).to_contain_text("billing-refunds")
    watched.assert_clean()


def test_a_groups_drain_now_drains_that_connection(live: LiveDashboard, open_page: Opener) -> None:
    """Each group offers Drain now for its own connection; its notice comes back on the front
    page."""
    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    staging = page.locator('section.connection-group[data-connection="staging"]')
    watched.answer = "accept"
    staging.get_by_role("button", name="Drain now").click()
    # This dashboard registers no processor: the notice says so, naming staging's queues only.
    expect(page.locator("#notices .notice-line")).to_have_text(
        re.compile(
            r"^Drained 0 jobs in \d+ ms \(2 queues have no processor registered: "
            r"billing-invoices, billing-refunds\)\.$"
        )
    )
    watched.assert_clean()


def test_each_group_follows_its_own_connection(live: LiveDashboard, open_page: Opener) -> None:
    """Each group listens to its own connection's changes, as that connection's overview does:
    a job added on staging shows in staging's card without a reload, production's stay."""
    watched = open_page()
    page = watched.page
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/live/" in r.url else None)
    page.goto(live.url("/"))
    boards = live.app.state.boards
    deadline = time.monotonic() + 5
    while not (boards["staging"].watcher.running and boards["production"].watcher.running):
        assert time.monotonic() < deadline, "the groups' change streams did not start"
        time.sleep(0.05)
    page.evaluate("window.__sameDocument = true")
    card = 'section[data-connection="staging"] [data-queue="billing-invoices"]'
    count = f'{card} .count[data-state="waiting"] dd'
    before = int(page.inner_text(count))
    staging_url = boards["staging"].settings.redis_url
    in_thread(lambda: asyncio.run(fill_second(staging_url)))  # 3 more in each queue
    expect(page.locator(count)).to_have_text(str(before + 3), timeout=5_000)
    assert page.evaluate("window.__sameDocument") is True
    # One stream for every group: a browser keeps at most six connections to a server.
    assert len(streams) == 1 and streams[0].endswith("/live/connections"), streams
    # The group's PING still answers with the group's own target after the swap.
    staging = page.locator('section.connection-group[data-connection="staging"]')
    staging.get_by_role("button", name="PING").click()
    expect(staging.locator(".ping-result")).to_contain_text("ms")
    # A card's link opens its page (the group's own swap settings stay with the group).
    page.locator(f"{card} a").first.click()
    expect(page.locator("h1")).to_contain_text("billing-invoices")
    watched.assert_clean()
