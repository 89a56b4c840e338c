"""The demo as a first-time visitor finds it, on fresh demo data (its own live dashboard): the
overview says its queues have no worker and that Drain all now processes them, and after a drain
the Metrics tab draws a chart (rough edge 7 of issue 24)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from dashboard import demo
from dashboard.config import DEFAULT_BASE_PATH, Settings, hosts_for_bind
from dashboard.web import create_app
from tests.helpers import LiveDashboard, Watched, serving

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
WIDE = {"width": 1280, "height": 800}


def test_the_demo_explains_itself_and_its_drains_draw_charts(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 7: the demo opened on alarms ("Nothing will take these jobs") without saying
    that Drain all now processes them; each card's number had no label; its drains recorded no
    BullMQ metrics, so no throughput chart ever showed."""
    settings = demo.demo_settings(
        Settings(redis_url=live.redis_url, allowed_hosts=hosts_for_bind("127.0.0.1"))
    )
    with serving(create_app(settings)) as origin:
        watched = open_page(viewport=WIDE)
        page = watched.page
        page.goto(f"{origin}{DEFAULT_BASE_PATH}/")
        intro = page.locator("[data-demo]")
        expect(intro).to_contain_text("Drain all now processes the waiting jobs")
        expect(page.locator(".queue-card .total").first).to_have_text(re.compile(r"^[\d,]+ jobs?$"))
        watched.answer = "accept"
        page.get_by_role("button", name="Drain all now").click()
        expect(page.locator("#notices .notice-line.ok")).to_contain_text("Drained")
        page.goto(f"{origin}{DEFAULT_BASE_PATH}/queue/seed-jobs/metrics")
        expect(page.locator("#throughput figure.throughput").first).to_be_visible()
        expect(page.locator("[data-no-metrics]")).to_have_count(0)
        watched.screenshot("demo-intro-metrics")
        watched.assert_clean()
