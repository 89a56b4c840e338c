"""/metrics on real servers: prometheus_client's own parser reads it, and idle scrapes are free."""

from __future__ import annotations

import asyncio
import time

import httpx
from bullmq import Queue, Worker
from prometheus_client.parser import text_string_to_metric_families

from dashboard.config import Settings
from dashboard.drain.engine import DrainOptions
from dashboard.web import create_app
from tests.helpers import executed_commands

NAMES = ("a", "b", "c", "d", "e")


def app_client(url: str) -> tuple[httpx.AsyncClient, object]:
    app = create_app(Settings(redis_url=url, queues=NAMES))
    app.state.board.watcher.interval_s = 0.05  # tell the cache of a change at once
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver"), app


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, keyed by name and sorted labels, as Prometheus itself would parse them."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape_until(http: httpx.AsyncClient, queue: str, state: str, count: int) -> dict:
    """Scrape until the queue's count shows (the watcher tells of a change once it settled)."""
    deadline = time.monotonic() + 10
    while True:
        got = samples((await http.get("/metrics")).text)
        if got[("bullmq_jobs", (("queue", queue), ("state", state)))] == count:
            return got
        assert time.monotonic() < deadline, f"{queue} never showed {count} {state}"
        await asyncio.sleep(0.05)


async def add_jobs(url: str, queue: str, n: int) -> None:
    q = Queue(queue, {"connection": url})
    for i in range(n):
        await q.add("job", {"i": i})
    await q.close()


async def test_metrics_parse_and_match_the_queues(r, server_url: str) -> None:
    await add_jobs(server_url, "a", 3)
    await add_jobs(server_url, "b", 1)
    paused = Queue("b", {"connection": server_url})
    await paused.pause()
    await paused.close()
    await r.hset("bull:a:metrics:completed", mapping={"count": 7, "prevTS": 1, "prevCount": 0})
    http, app = app_client(server_url)
    try:
        async with http:
            answer = await http.get("/metrics")
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/plain; version=")
            got = samples(answer.text)
    finally:
        await app.state.board.exporter.counts.close()
    assert got[("bullmq_jobs", (("queue", "a"), ("state", "waiting")))] == 3
    assert got[("bullmq_jobs", (("queue", "a"), ("state", "completed")))] == 0
    assert got[("bullmq_queue_paused", (("queue", "a"),))] == 0
    assert got[("bullmq_queue_paused", (("queue", "b"),))] == 1
    assert got[("bullmq_recorded_jobs_total", (("queue", "a"), ("state", "completed")))] == 7
    assert ("bullmq_recorded_jobs_total", (("queue", "b"), ("state", "completed"))) not in got
    assert got[("drainboard_redis_commands_total", (("source", "reads"),))] > 0
    assert ("drainboard_drain_duration_seconds_count", ()) in got


async def test_drains_are_counted(r, server_url: str) -> None:
    await add_jobs(server_url, "a", 2)
    http, app = app_client(server_url)

    async def ok(job):
        return None

    app.state.board.engine.processors.update({"a": ok})
    try:
        async with http:
            await http.get("/metrics")
            await app.state.board.engine.drain(DrainOptions(queues=("a",), trigger="cron"))
            got = samples((await http.get("/metrics")).text)
    finally:
        await app.state.board.exporter.counts.close()
    assert got[("drainboard_drain_runs_total", (("trigger", "cron"),))] >= 1
    assert got[("drainboard_drain_jobs_processed_total", (("queue", "a"),))] >= 2
    assert got[("drainboard_drain_duration_seconds_count", ())] >= 1


async def test_idle_scrapes_cost_nothing_and_a_new_job_shows_next(r, server_url: str) -> None:
    for name in NAMES:
        await add_jobs(server_url, name, 1)
    http, app = app_client(server_url)
    try:
        async with http:
            await http.get("/metrics")  # warm-up: reads every queue once
            before = await executed_commands(r)
            for _ in range(10):
                assert (await http.get("/metrics")).status_code == 200
            spent = await executed_commands(r) - before
            # The watcher's one blocking XREAD (a minute long) at most; nothing per scrape.
            assert spent <= 2, spent

            await add_jobs(server_url, "c", 2)
            got = await scrape_until(http, "c", "waiting", 3)
            assert got[("bullmq_jobs", (("queue", "a"), ("state", "waiting")))] == 1
    finally:
        await app.state.board.exporter.counts.close()
    assert not app.state.board.watcher.running


async def test_a_worker_finishing_jobs_is_seen(r, server_url: str) -> None:
    await add_jobs(server_url, "a", 2)
    http, app = app_client(server_url)
    try:
        async with http:
            got = samples((await http.get("/metrics")).text)
            assert got[("bullmq_jobs", (("queue", "a"), ("state", "waiting")))] == 2
            done = asyncio.Event()
            finished = 0

            async def process(job, token):
                nonlocal finished
                finished += 1
                if finished == 2:
                    done.set()

            worker = Worker("a", process, {"connection": server_url})
            await asyncio.wait_for(done.wait(), 10)
            await worker.close()
            await scrape_until(http, "a", "completed", 2)
    finally:
        await app.state.board.exporter.counts.close()
