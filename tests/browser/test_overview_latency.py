"""The overview shows each queue's latency (its oldest waiting job's age), light and dark, for
jobs Node BullMQ added with a known age; an empty queue shows none. Screenshots land in
test-artifacts/screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import redis

from dashboard.config import Settings
from dashboard.web import create_app
from dashboard.web.render import duration
from tests.helpers import node_json
from tests.uvicorn_thread import serving

pytestmark = pytest.mark.browser

# Node's helper writes under the default prefix, beside the demo data other browser modules
# share this server with: the dashboard is told these queues only.
# Per queue: the age its job is added with (s), its priority, and the start of the age shown
# (the seconds the test takes to get there are checked against the page's own figure).
AGES = {
    "latency-billing": (2 * 3600 + 5 * 60 + 20, "0", "latency 2 h 5 min"),
    "latency-mail": (200, "3", "latency 3 min "),  # a prioritized job
}
EMPTY = "latency-reports"


@pytest.fixture(scope="module")
def dashboard(valkey_url: str) -> Iterator[str]:
    client = redis.Redis.from_url(valkey_url)
    for key in client.scan_iter("bull:latency-*"):
        client.delete(key)
    client.close()
    node = shutil.which("node")
    assert node, "the browser tests need Node.js on PATH (make test)"
    for queue, (age, priority, _) in AGES.items():
        node_json(node, "alerting.mjs", "6", valkey_url, queue, "aged", str(age), priority)
    app = create_app(Settings(redis_url=valkey_url, queues=[*AGES, EMPTY]))
    with serving(app) as origin:
        yield f"{origin}/admin/queues"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_overview_shows_each_queues_latency(dashboard: str, open_page, scheme: str) -> None:
    watched = open_page(color_scheme=scheme)
    page = watched.page
    page.goto(f"{dashboard}/")
    for queue, (age, _, shown) in AGES.items():
        latency = page.locator(f"[data-queue='{queue}'] .latency")
        waited_ms = int(latency.get_attribute("data-latency-ms") or 0)
        assert age * 1000 <= waited_ms < (age + 60) * 1000
        text = latency.inner_text()
        assert text.startswith(shown) and text == f"latency {duration(waited_ms)}", text
    assert page.locator(f"[data-queue='{EMPTY}']").count() == 1
    assert page.locator(f"[data-queue='{EMPTY}'] .latency").count() == 0
    watched.screenshot(f"overview-latency-{scheme}")
    watched.assert_clean()
