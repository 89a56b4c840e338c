"""Exact at rest: after mixed traffic from Node BullMQ (adds, completions trimmed by
removeOnComplete, failures retried with backoff and trimmed by removeOnFail, priorities, delays, a
flow, pause and resume, obliterate, a promote, clean, drain, a stalled job), the counts the live
watcher keeps, moved by events with its real cadences, equal Node's getJobCounts() within 10 s."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from dashboard.bullmq.discovery import QueueCatalog
from dashboard.bullmq.reader import Reader
from dashboard.live.watcher import ChangeWatcher
from tests.helpers import MAJORS, node_json


@pytest.mark.parametrize("major", MAJORS)
async def test_kept_counts_are_exact_at_rest(node: str, major: str, server_url: str) -> None:
    def connect(timeout: float) -> aioredis.Redis:
        return aioredis.Redis.from_url(server_url, decode_responses=True, socket_timeout=timeout)

    catalog = QueueCatalog(connect(5), "bull", ("mixed",))
    watcher = ChangeWatcher(connect, catalog, "bull", reader=Reader(connect(5), "bull"))
    async with watcher.subscribe("mixed"):
        traffic = ("mixed.mjs", major, server_url, "mixed")
        node_says = await asyncio.to_thread(node_json, node, *traffic)
        stopped = time.monotonic()
        theirs = {"paused": 0, **node_says}
        kept: dict[str, int] = {}
        while time.monotonic() - stopped < 10:
            summary = watcher.counts("mixed")
            kept = summary.counts if summary is not None else {}
            if kept == theirs:
                break
            await asyncio.sleep(0.1)
        assert kept == theirs
        # The traffic moved every kind of count the test means to cover.
        assert theirs["completed"] == 100 and theirs["failed"] == 5, theirs
        assert theirs["delayed"] == 5 and theirs["waiting"] == 7, theirs
        assert theirs["active"] == 0, theirs  # the stalled job was put back and completed
