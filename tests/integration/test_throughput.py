"""The Metrics tab and `api/queues/{q}/metrics` on real servers, fed by Drainboard's own drains."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.config import Settings
from dashboard.drain.engine import DrainOptions
from dashboard.drain.workers import OnDemandWorkers
from tests.helpers import csrf_token, make_client

API = "/admin/queues/api/queues"


async def ok(job):
    return None


async def fail(job):
    raise RuntimeError("nope")


async def test_drains_record_metrics_when_asked(server_url: str, r: aioredis.Redis) -> None:
    queue = Queue("mail", {"connection": server_url})
    for i in range(3):
        await queue.add("j", {"i": i})
    await queue.close()
    async with make_client(Settings(redis_url=server_url)) as http:
        board = http._transport.app.state.board  # type: ignore[attr-defined]
        board.engine.processors.update({"mail": ok})
        await board.engine.drain(DrainOptions(queues=("mail",), metrics_max_data_points=60))
        answer = (await http.get(f"{API}/mail/metrics?type=completed")).json()
        assert answer["meta"]["count"] == 3
        assert answer == {
            "meta": {
                "count": 3,
                "prevTS": int(await r.hget("bull:mail:metrics:completed", "prevTS")),
                "prevCount": 0,
            },
            "data": [],
            "count": 0,
        }
        chart = await http.get("/admin/queues/queue/mail/metrics/throughput")
        assert chart.status_code == 200
        assert "<polyline" in chart.text and "completed 3" in chart.text
        runs = await http.get("/admin/queues/queue/mail/metrics/drains")
        assert runs.text.count('class="f-completed"') == 1


async def test_the_servers_drains_and_on_demand_workers_record_metrics_when_set(
    server_url: str, r: aioredis.Redis
) -> None:
    queue = Queue("mail", {"connection": server_url})
    for i in range(5):
        await queue.add("j", {"i": i}, {"attempts": 1})
    await queue.close()
    settings = Settings(redis_url=server_url, cron_tokens=("cron",), metrics_max_data_points=60)
    async with make_client(settings) as http:
        board = http._transport.app.state.board  # type: ignore[attr-defined]
        board.engine.processors.update({"mail": ok})
        token = await csrf_token(http)
        # "Drain now", one job at a time, then the cron endpoint for the rest.
        drained = await http.post(
            "/admin/queues/api/drain",
            params={"queue": "mail", "maxJobsPerQueue": "2"},
            headers={"X-CSRF-Token": token},
        )
        assert drained.json()["totalProcessed"] == 2
        assert await r.hget("bull:mail:metrics:completed", "count") == "2"
        cron = await http.post(
            "/api/v1/cron/drain-queues", params={"queue": "mail"}, headers={"X-Cron-Secret": "cron"}
        )
        assert cron.json()["totalProcessed"] == 3
        assert await r.hget("bull:mail:metrics:completed", "count") == "5"

    workers = OnDemandWorkers(r, "bull", {"mail": fail}, ["mail"], metrics_max_data_points=60)
    await workers.enqueue("mail", "j", {})
    for _ in range(100):
        if await r.hget("bull:mail:metrics:failed", "count") == "1":
            break
        await asyncio.sleep(0.05)
    await workers.close()
    assert await r.hget("bull:mail:metrics:failed", "count") == "1"


async def test_without_metrics_the_chart_says_how_to_turn_them_on(server_url: str) -> None:
    queue = Queue("sms", {"connection": server_url})
    await queue.add("j", {})
    await queue.close()
    async with make_client(Settings(redis_url=server_url)) as http:
        board = http._transport.app.state.board  # type: ignore[attr-defined]
        board.engine.processors.update({"sms": fail})
        await board.engine.drain(DrainOptions(queues=("sms",)))
        chart = await http.get("/admin/queues/queue/sms/metrics/throughput")
        assert "data-no-metrics" in chart.text and "maxDataPoints" in chart.text
        page = await http.get("/admin/queues/queue/sms/metrics")
        assert 'hx-trigger="intersect once"' in page.text
        answer = (await http.get(f"{API}/sms/metrics?type=failed")).json()
        assert answer == {"meta": {"count": 0, "prevTS": 0, "prevCount": 0}, "data": [], "count": 0}


async def test_bad_metrics_parameters_are_400(server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("j", {})
    await queue.close()
    async with make_client(Settings(redis_url=server_url)) as http:
        for query in ("type=waiting", "start=1.5", "end=--1", "start=99999999999999999999"):
            answer = await http.get(f"{API}/mail/metrics?{query}")
            assert answer.status_code == 400, query
            assert set(answer.json()) == {"error", "status"}
        assert (await http.get(f"{API}/nope/metrics")).status_code == 404
        assert (await http.get(f"{API}/mail/metrics?start=-1&end=-1")).status_code == 200
