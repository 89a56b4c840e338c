"""A queue's latency (how long its oldest waiting job has waited) on the queue page: read on
load for a few commands, kept by the live head until a job is taken."""

from __future__ import annotations

import asyncio
import re
import uuid

from bullmq import Queue, Worker

from dashboard.config import Settings
from tests.helpers import make_client


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
