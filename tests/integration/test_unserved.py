"""The overview's warning about waiting jobs nothing will take (no worker connected, no
scheduled drain in the last hour): asked of Redis only when a queue on screen has waiting jobs,
and then at most once a minute."""

from __future__ import annotations

import asyncio
import re

import redis.asyncio as aioredis
from bullmq import Queue, Worker

from dashboard.bullmq.reader import SUMMARY_WIDTH
from dashboard.config import Settings
from dashboard.observe.unserved import ANSWER_TTL_S
from tests.helpers import executed_commands, make_client


def warned(html: str) -> list[str]:
    cards = re.findall(r'<article[^>]*data-queue="([^"]+)"(.*?)</article>', html, re.S)
    return [name for name, body in cards if "data-unserved" in body]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_overview_warns_of_waiting_jobs_nothing_will_take(
    r: aioredis.Redis, server_url: str
) -> None:
    for name in ("mail", "sms", "held"):
        queue = Queue(name, {"connection": r})
        await queue.add("j", {})
        if name == "held":
            await queue.pause()  # held on purpose: no warning
    settings = Settings(redis_url=server_url, cron_tokens=("cron",))
    async with make_client(settings) as http:
        board = http._transport.app.state.board  # type: ignore[attr-defined]
        clock = board.service_check.clock = Clock()
        await http.get("/admin/queues/")  # discovery out of the way
        clock.now += ANSWER_TTL_S

        before = await executed_commands(r)
        page = await http.get("/admin/queues/")
        spent = await executed_commands(r) - before
        assert warned(page.text) == ["mail", "sms"]
        assert "/queue/mail/workers" in page.text
        # The counts (the paused queue reads its paused list, as under BullMQ 5: +1) and the
        # latency of the two with jobs waiting (a SORT each), one CLIENT LIST and the drain
        # history's 2; within the minute after, the counts and latency alone.
        counts = 3 * SUMMARY_WIDTH + 1 + 2
        assert spent == counts + 3
        before = await executed_commands(r)
        again = await http.get("/admin/queues/")
        assert await executed_commands(r) - before == counts and warned(again.text) == [
            "mail",
            "sms",
        ]

        async def nothing(job, token):
            return None

        worker = Worker("mail", nothing, {"connection": server_url})
        try:
            await asyncio.sleep(0.5)  # the worker names its connection on start
            clock.now += ANSWER_TTL_S
            assert warned((await http.get("/admin/queues/")).text) == ["sms"]
        finally:
            await worker.close()

        # A scheduled drain ran (the cron endpoint): someone will take the jobs.
        cron = await http.post("/api/v1/cron/drain-queues", headers={"X-Cron-Secret": "cron"})
        assert cron.status_code == 200
        clock.now += ANSWER_TTL_S
        assert warned((await http.get("/admin/queues/")).text) == []


async def test_an_overview_without_waiting_jobs_asks_nothing_more(
    r: aioredis.Redis, server_url: str
) -> None:
    queue = Queue("later", {"connection": r})
    await queue.add("j", {}, {"delay": 3_600_000})  # not due: not waiting
    async with make_client(Settings(redis_url=server_url)) as http:
        await http.get("/admin/queues/")
        before = await executed_commands(r)
        page = await http.get("/admin/queues/")
        assert await executed_commands(r) - before == SUMMARY_WIDTH and warned(page.text) == []


async def test_live_refreshes_of_the_overview_never_ask(r: aioredis.Redis, server_url: str) -> None:
    queue = Queue("mail", {"connection": r})
    await queue.add("j", {})
    async with make_client(Settings(redis_url=server_url)) as http:
        board = http._transport.app.state.board  # type: ignore[attr-defined]
        clock = board.service_check.clock = Clock()
        await http.get("/admin/queues/")  # discovery, and the first answer
        clock.now += ANSWER_TTL_S
        before = await executed_commands(r)
        live = await http.get("/admin/queues/?live=1")
        # The counts (no watcher here) and nothing more; the minute-old answer is shown.
        assert await executed_commands(r) - before == SUMMARY_WIDTH and warned(live.text) == [
            "mail"
        ]
