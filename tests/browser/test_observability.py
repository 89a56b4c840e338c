"""The Metrics tab, the Redis panel and the workers list in Chromium, light and dark.

A Python `bullmq` Worker with metrics on finishes jobs of a demo queue, so BullMQ itself writes
the metrics; earlier minutes are then pushed onto the data list (as BullMQ's collectMetrics
would have) so the last-hour chart has a shape. A Node worker with a QueueEvents listener and a
Python worker are connected while the workers list is drawn. Screenshots land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import redis
from bullmq import Queue, Worker

from dashboard import demo
from tests.helpers import INTEROP, in_thread

pytestmark = pytest.mark.browser

QUEUE = demo.DEMO_QUEUES[0]
SCHEMES = ("light", "dark")


async def record_metrics(url: str) -> None:
    queue = Queue(QUEUE, {"connection": url})
    await queue.addBulk([{"name": "chart", "data": {"n": i}} for i in range(12)])
    await queue.close()
    finished = asyncio.Event()
    count = 0

    async def process(job, token):
        nonlocal count
        if job.name != "chart":
            return None  # the demo's own waiting jobs
        count += 1
        if count >= 12:
            finished.set()
        if job.data["n"] % 4 == 3:
            raise RuntimeError("declined")

    worker = Worker(QUEUE, process, {"connection": url, "metrics": {"maxDataPoints": 1440}})
    await asyncio.wait_for(finished.wait(), 20)
    await worker.close()


@pytest.fixture(scope="module")
def metered(live) -> str:
    in_thread(lambda: asyncio.run(record_metrics(live.redis_url)))
    client = redis.Redis.from_url(live.redis_url)
    older = [round(20 + 15 * math.sin(i / 6)) for i in range(90)]
    client.rpush(f"bull:{QUEUE}:metrics:completed:data", *older)
    client.rpush(f"bull:{QUEUE}:metrics:failed:data", *[n // 7 for n in older])
    client.close()
    return QUEUE


@pytest.fixture
def connected_workers(live) -> Iterator[None]:
    """A Node worker with QueueEvents on one queue, a Python worker on another."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: run `make test`.", pytrace=False)
    node_worker = subprocess.Popen(
        [node, "idle.mjs", "5", live.redis_url, "60", f"{demo.DEMO_QUEUES[1]}:events"],
        cwd=INTEROP,
        stdout=subprocess.PIPE,
        text=True,
    )
    python_worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.idle_python_worker",
            live.redis_url,
            demo.DEMO_QUEUES[2],
            "60",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert node_worker.stdout.readline().strip() == "ready"
        assert python_worker.stdout.readline().strip() == "ready"
        yield
    finally:
        for process in (node_worker, python_worker):
            process.kill()
            process.wait(10)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_throughput_chart(live, metered, open_page, scheme: str) -> None:
    watched = open_page(scheme)
    page = watched.page
    page.goto(live.url(f"/queue/{metered}/metrics"))
    page.wait_for_selector("figure.throughput polyline.s-line-completed", timeout=10_000)
    assert page.locator("figure.throughput").count() == 2
    points = page.get_attribute("figure.throughput polyline.s-line-completed", "points")
    assert points and len(points.split()) == 60
    assert "failed 3" in page.text_content("#throughput")
    page.wait_for_selector("#drain-runs h2")
    watched.screenshot(f"metrics-throughput-{scheme}")
    watched.assert_clean()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_redis_panel(live, open_page, scheme: str) -> None:
    watched = open_page(scheme)
    page = watched.page
    page.goto(live.url("/redis"))
    assert page.text_content("[data-fact=version]").strip()
    assert page.text_content("[data-fact=policy]").strip()
    watched.screenshot(f"redis-panel-{scheme}")
    watched.assert_clean()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_workers_list(live, connected_workers, open_page, scheme: str) -> None:
    watched = open_page(scheme)
    page = watched.page
    page.goto(live.url("/workers"))
    node_panel = page.locator(f'section[data-queue="{demo.DEMO_QUEUES[1]}"]')
    assert node_panel.locator('tr[data-kind="node-worker"]').count() >= 1
    assert node_panel.locator('tr[data-kind="queue-events"]').count() == 1
    python_panel = page.locator(f'section[data-queue="{demo.DEMO_QUEUES[2]}"]')
    assert python_panel.locator('tr[data-kind="python-worker"]').count() >= 1
    assert page.locator('tr[data-kind="drainboard-own"]').count() >= 1
    watched.screenshot(f"workers-{scheme}")
    watched.assert_clean()


def test_the_overview_warns_of_jobs_nothing_will_take(live, open_page) -> None:
    watched = open_page("light")
    page = watched.page
    page.goto(live.url("/"))
    warned = page.locator("article.queue-card:has([data-unserved])")
    assert warned.count() >= 1  # the demo's queues hold waiting jobs, and nothing runs them
    name = warned.first.get_attribute("data-queue")
    assert warned.first.locator("[data-unserved]").is_visible()
    watched.screenshot("overview-unserved")
    warned.first.locator("[data-unserved] a").click()
    page.wait_for_url(f"**/queue/{quote(name, safe='')}/workers")
    assert page.locator(f'section[data-queue="{name}"] [data-unserved]').count() == 1
    watched.assert_clean()
