"""The shared change watcher on real servers: wakes on BullMQ events, costs nothing unwatched."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.discovery import QueueCatalog
from dashboard.watch import ChangeWatcher


def watcher_for(url: str, queues: tuple[str, ...], block_ms: int = 60_000) -> ChangeWatcher:
    def connect(timeout: float) -> aioredis.Redis:
        return aioredis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout)

    catalog = QueueCatalog(connect(5), "bull", queues)
    return ChangeWatcher(connect, catalog, "bull", block_ms=block_ms, settle_s=0.05)


async def calls(r: aioredis.Redis, command: str) -> int:
    return (await r.info("commandstats")).get(f"cmdstat_{command}", {}).get("calls", 0)


async def test_a_new_job_wakes_only_its_queues_subscribers(r, server_url: str) -> None:
    watcher = watcher_for(server_url, ("mail", "sms"))
    async with watcher.subscribe("mail") as mail, watcher.subscribe("sms") as sms:
        await asyncio.sleep(0.2)
        queue = Queue("mail", {"connection": server_url})
        await queue.add("hello", {})
        await queue.close()
        await asyncio.wait_for(mail.changed.wait(), 3)
        assert not sms.changed.is_set()
    assert not watcher.running


async def test_idle_watching_costs_one_blocking_read(r, server_url: str) -> None:
    names = ("a", "b", "c", "d", "e")
    for name in names:  # real queues: their event streams hold BullMQ's entries
        queue = Queue(name, {"connection": server_url})
        await queue.add("x", {})
        await queue.close()
    watcher = watcher_for(server_url, names, block_ms=60_000)
    before = {c: await calls(r, c) for c in ("xread", "xrevrange")}
    async with watcher.subscribe():
        await asyncio.sleep(1.0)
        # Where the five streams stand (once), then one XREAD blocked for up to a minute.
        assert watcher.commands_per_minute() == 5 + 1
    assert await calls(r, "xrevrange") - before["xrevrange"] == 5
    # An XREAD abandoned while blocked is not in commandstats; a finished one would be one.
    assert await calls(r, "xread") - before["xread"] <= 1
    after = {c: await calls(r, c) for c in ("xread", "xrevrange")}
    await asyncio.sleep(0.5)
    assert {c: await calls(r, c) for c in after} == after  # nobody watching: nothing at all


async def test_trimmed_event_stream_still_wakes(r, server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("first", {})
    await r.xtrim("bull:mail:events", maxlen=0)
    watcher = watcher_for(server_url, ("mail",))
    async with watcher.subscribe() as sub:
        await asyncio.sleep(0.2)
        await queue.add("second", {})
        await asyncio.wait_for(sub.changed.wait(), 3)
    await queue.close()


async def test_stream_kept_empty_still_wakes(r, server_url: str) -> None:
    """Events effectively disabled: every entry trimmed as it is added (exact MAXLEN 0)."""
    await r.xadd("bull:mail:events", {"event": "added"}, maxlen=0, approximate=False)
    # Valkey only notices such a stream once per blocking period: keep that short here.
    watcher = watcher_for(server_url, ("mail",), block_ms=500)
    async with watcher.subscribe() as sub:
        await asyncio.sleep(0.2)
        await r.xadd("bull:mail:events", {"event": "completed"}, maxlen=0, approximate=False)
        await asyncio.wait_for(sub.changed.wait(), 3)
        sub.changed.clear()
        await r.xadd("bull:mail:events", {"event": "failed"}, maxlen=0, approximate=False)
        await asyncio.wait_for(sub.changed.wait(), 3)
