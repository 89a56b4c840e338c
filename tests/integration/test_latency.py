"""A queue's latency (how long its oldest waiting job has waited) on the queue page: read on
load for a few commands, kept by the live head until a job is taken."""

from __future__ import annotations

import asyncio
import re
import uuid

import redis.asyncio as aioredis
from bullmq import Queue, Worker

from dashboard.config import Settings
from tests.helpers import executed_commands, make_client


def shown_latency(html: str) -> str | None:
    found = re.search(r'<span class="latency"[^>]*>latency ([^<]+)</span>', html)
    return found.group(1) if found else None


async def test_the_queue_page_shows_its_latency(server_url) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("welcome", {}, {"priority": 3})  # the older one, prioritized
    await asyncio.sleep(1.2)
    await queue.add("welcome", {})
    client = make_client(Settings(redis_url=server_url))
    watcher = client.app.state.board.watcher
    watcher.interval_s = 0.2
    # An open page's live stream keeps the watcher, which counts the jobs taken.
    async with client, watcher.subscribe("mail"):
        page = await client.get("/admin/queues/queue/mail")
        assert page.status_code == 200
        latency = shown_latency(page.text)
        assert latency is not None and re.fullmatch(r"1\.\d s", latency), latency
        head = re.search(r'id="queue-head" hx-get="([^"]+)"', page.text)
        assert head is not None
        refresh = head.group(1).replace("&amp;", "&")
        assert shown_latency((await client.get(refresh)).text) is not None
        worker = Worker("mail", None, {"connection": server_url, "autorun": False})
        token = uuid.uuid4().hex
        job = await worker.getNextJob(token)
        assert job is not None
        await asyncio.sleep(1.5)  # the watcher's wake, its coalescing second, its notice
        # A job was taken: the page's reading may no longer be the oldest; the head drops it.
        assert shown_latency((await client.get(refresh)).text) is None
        await job.moveToCompleted("ok", token, fetchNext=False)
        assert shown_latency((await client.get("/admin/queues/queue/mail")).text) is not None
        await worker.close(force=True)
        await queue.obliterate({"force": True})
        empty = await client.get("/admin/queues/queue/mail")
        assert shown_latency(empty.text) is None
    await queue.close()


def card_latency(html: str, queue: str) -> str | None:
    card = re.search(rf'data-queue="{queue}".*?</article>', html, re.S)
    assert card is not None
    found = re.search(r'<p class="latency"[^>]*>latency ([^<]+)</p>', card.group(0))
    return found.group(1) if found else None


async def test_the_overview_and_api_show_latency_for_a_command_a_list(server_url) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("welcome", {})
    await queue.add("welcome", {}, {"priority": 3})
    await asyncio.sleep(1.2)
    await queue.add("welcome", {})
    client = make_client(Settings(redis_url=server_url, queues=("mail", "idle")))
    board = client.app.state.board
    board.watcher.interval_s = 0.2
    async with client, board.watcher.subscribe("mail"):
        page = await client.get("/admin/queues/")
        assert re.fullmatch(r"1\.\d s", card_latency(page.text, "mail") or ""), page.text
        assert card_latency(page.text, "idle") is None
        # The oldest of the plain and the prioritized jobs, one SORT each; the empty queue none.
        sorts = await count_sorts(server_url)
        api = (await client.get("/admin/queues/api/queues")).json()
        assert await count_sorts(server_url) == sorts + 2
        latency = {q["name"]: q["latency"] for q in api["queues"]}
        assert latency["idle"] is None and 1.2 <= latency["mail"] < 10
        # The live refresh reads nothing, and keeps the reading while the queue saw no event.
        assert card_latency((await client.get("/admin/queues/?live=1")).text, "mail")
        worker = Worker("mail", None, {"connection": server_url, "autorun": False})
        job = await worker.getNextJob(uuid.uuid4().hex)
        assert job is not None
        await asyncio.sleep(1.5)  # the watcher's wake, its coalescing second, its notice
        assert card_latency((await client.get("/admin/queues/?live=1")).text, "mail") is None
        assert card_latency((await client.get("/admin/queues/")).text, "mail") is not None
        await worker.close(force=True)
    await queue.obliterate({"force": True})
    await queue.close()


async def count_sorts(url: str) -> int:
    r = aioredis.Redis.from_url(url)
    try:
        return await executed_commands(r, "sort")
    finally:
        await r.aclose()
