"""The queue switcher in a real browser: a sidebar at 1280 px, a menu at 390 px, filtered as you
type, grouped by the delimiter, and free: pages cost what they cost without it."""

from __future__ import annotations

import asyncio
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

Opener = Callable[..., Watched]
QUEUES = (
    "billing.invoices",
    "billing.payouts",
    "billing.refunds",
    "mail.digest",
    "mail.welcome",
    "reports",
    "search-index",
)


async def _fill(url: str) -> None:
    for name in QUEUES:
        queue = Queue(name, {"connection": url})
        await queue.add("job", {"queue": name})
        await queue.close()


@pytest.fixture(scope="module")
def grouped(valkey_url: str) -> Iterator[str]:
    """A dashboard over QUEUES, grouped by ".": yields its base URL."""
    client = redis.Redis.from_url(valkey_url)
    client.flushall()
    client.close()
    thread = threading.Thread(target=lambda: asyncio.run(_fill(valkey_url)))
    thread.start()
    thread.join(60)
    app = create_app(Settings(redis_url=valkey_url, group_delimiter="."))
    with serving(app) as origin:
        yield f"{origin}/admin/queues"


def test_sidebar_at_1280_filters_and_groups(grouped: str, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(f"{grouped}/queue/billing.refunds")
    switcher = page.locator("nav.switcher")
    expect(switcher.locator(".switcher-toggle")).to_be_hidden()
    expect(switcher.locator(".switcher-body")).to_be_visible()
    heads = switcher.locator(".switcher-head").all_inner_texts()
    assert [h.lower() for h in heads] == ["billing", "mail"]
    links = switcher.locator("li a")
    expect(links).to_have_count(len(QUEUES))
    current = switcher.locator('a[aria-current="page"]')
    expect(current).to_have_text("refunds")
    box = switcher.bounding_box()
    content = page.locator("#content").bounding_box()
    assert box and content and box["x"] + box["width"] <= content["x"]  # beside the content

    watched.screenshot("switcher-1280", full_page=False)

    switcher.locator(".switcher-filter").fill("MAIL")
    expect(switcher.locator("li:visible")).to_have_count(2)
    expect(switcher.locator('.switcher-group[data-group="billing"]')).to_be_hidden()
    switcher.locator(".switcher-filter").fill("zzz")
    expect(switcher.locator(".switcher-none")).to_be_visible()
    switcher.locator(".switcher-filter").fill("ort")
    expect(switcher.locator("li:visible")).to_have_count(1)
    switcher.locator("li:visible a").click()
    expect(page).to_have_url(f"{grouped}/queue/reports")
    expect(page.locator("h1")).to_contain_text("reports")
    expect(page.locator('nav.switcher a[aria-current="page"]')).to_have_text("reports")
    watched.assert_clean()


def test_menu_at_390(grouped: str, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{grouped}/")
    switcher = page.locator("nav.switcher")
    toggle = switcher.locator(".switcher-toggle")
    expect(toggle).to_be_visible()
    expect(switcher.locator(".switcher-body")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(switcher.locator(".switcher-filter")).to_be_focused()
    page.keyboard.type("pay")
    expect(switcher.locator("li:visible")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width} px"
    watched.screenshot("switcher-390", full_page=False)
    switcher.locator("li:visible a").click()
    expect(page).to_have_url(f"{grouped}/queue/billing.payouts")
    expect(page.locator("nav.switcher .switcher-body")).to_be_hidden()
    watched.assert_clean()
