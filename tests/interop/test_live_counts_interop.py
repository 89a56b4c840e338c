"""The counts the live watcher keeps, moved by Node BullMQ's own events, equal Node's
getJobCounts() after Node adds jobs and its workers fail and complete them."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from dashboard.bullmq.discovery import QueueCatalog
from dashboard.bullmq.reader import Reader
from dashboard.live.watcher import ChangeWatcher
from tests.helpers import MAJORS, node_counts


async def kept_equals(watcher: ChangeWatcher, expected: dict[str, int]) -> dict[str, int]:
    """The watcher's counts once they equal `expected` (or, after 10 s, whatever they are)."""
    deadline = time.monotonic() + 10
    while True:
        kept = watcher.counts("mail")
        if (kept is not None and kept.counts == expected) or time.monotonic() > deadline:
            return kept.counts if kept is not None else {}
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("major", MAJORS)
async def test_kept_counts_follow_node_workers(node: str, major: str, server_url: str) -> None:
    def connect(timeout: float) -> aioredis.Redis:
        return aioredis.Redis.from_url(server_url, decode_responses=True, socket_timeout=timeout)

    catalog = QueueCatalog(connect(5), "bull", ("mail",))
    # No periodic full re-read: only the events move these counts.
    watcher = ChangeWatcher(
        connect, catalog, "bull", interval_s=0.05, reader=Reader(connect(5), "bull"), recount_s=1e9
    )
    async with watcher.subscribe("mail"):
        steps = (("add", "4"), ("fail", "4"), ("add", "4"), ("complete", "4"), ("add", "3"))
        for step in steps:
            theirs = await asyncio.to_thread(node_counts, node, major, server_url, *step)
            assert await kept_equals(watcher, theirs) == theirs, step
        assert theirs["failed"] >= 4 and theirs["completed"] >= 4
