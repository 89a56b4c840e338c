"""The alerts page in Chromium, light and dark: a backlog rule firing on a queue BullMQ filled,
the last sends, and the Send a test button reaching a local webhook. Screenshots land in
test-artifacts/screenshots/."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from bullmq import Queue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.config import Settings
from dashboard.web import create_app
from tests.uvicorn_thread import serving

pytestmark = pytest.mark.browser

PREFIX = "alertsui"  # apart from the demo data other browser modules share this server with


@pytest.fixture(scope="module")
def dashboard(valkey_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    received: list[dict] = []

    async def hook(request: Request) -> Response:
        received.append(await request.json())
        return JSONResponse({})

    client = redis.Redis.from_url(valkey_url)
    for key in client.scan_iter(f"{PREFIX}:*"):
        client.delete(key)
    client.close()

    async def fill() -> None:
        queue = Queue("billing-eu", {"connection": valkey_url, "prefix": PREFIX})
        for i in range(3):
            await queue.add("charge", {"i": i})
        await queue.close()

    asyncio.run(fill())
    with serving(Starlette(routes=[Route("/hook/s3cret", hook, methods=["POST"])])) as hooks:
        path = Path(tmp_path_factory.mktemp("alerts")) / "alerts.toml"
        path.write_text(
            f'[destination.ops]\nurl = "{hooks}/hook/s3cret"\n\n'
            '[[rule]]\nkind = "backlog"\nqueues = "billing-*"\ncount = 2\n\n'
            '[[rule]]\nkind = "failed"\ncount = 5\nminutes = 10\n'
        )
        app = create_app(Settings(redis_url=valkey_url, prefix=PREFIX, alerts=str(path)))
        with serving(app) as origin:
            yield f"{origin}/admin/queues"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_alerts_page(dashboard: str, open_page, scheme: str) -> None:
    watched = open_page(color_scheme=scheme)
    page = watched.page
    page.goto(f"{dashboard}/alerts")
    # The rule fires within one check of the watcher's first read; the page shows it on reload.
    for _ in range(50):
        if page.locator("[data-firing='billing-eu']").count():
            break
        page.wait_for_timeout(200)
        page.reload()
    assert page.locator("[data-firing='billing-eu']").count() == 1
    assert "s3cret" not in page.content()
    page.click("[data-send-test]")
    page.locator("#notices").get_by_text("Test sent (ops: 200).").wait_for()
    page.reload()
    assert page.locator("#alert-sends tbody tr").count() >= 2  # the firing, and the test
    watched.screenshot(f"alerts-{scheme}")
    watched.assert_clean()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_queue_page_shows_its_latency(dashboard: str, open_page, scheme: str) -> None:
    watched = open_page(color_scheme=scheme)
    page = watched.page
    page.goto(f"{dashboard}/queue/billing-eu")
    latency = page.locator(".page-head .latency")
    assert latency.count() == 1
    assert latency.inner_text().startswith("latency ")
    watched.screenshot(f"queue-latency-{scheme}", full_page=False)
    watched.assert_clean()
