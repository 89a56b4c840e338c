"""`api/queues/{q}/metrics` against Node BullMQ's own `queue.getMetrics`, for BullMQ 5 and 6.

A Node Worker started with `metrics: {maxDataPoints: 100}` completes and fails jobs, so BullMQ
itself writes the metrics hash. Its data list only gains a point when a minute rolls over; rather
than wait minutes, the test then pushes earlier minutes' points as BullMQ would have (LPUSH), and
asks Node again. Each time, every (type, start, end) Node answers is asked of the dashboard too.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from dashboard.config import Settings
from tests.helpers import MAJORS, make_client, node_json

pytestmark = pytest.mark.interop

QUEUE = "metered mail"  # a space: the queue name is encoded in the URL


def node_metrics(node: str, major: str, url: str, *args: str) -> dict[str, Any]:
    return node_json(node, "metrics.mjs", major, url, QUEUE, *args)


async def assert_same(http: httpx.AsyncClient, node_answers: dict[str, Any]) -> None:
    for key, expected in node_answers.items():
        kind, start, end = key.split()
        answer = await http.get(
            "/admin/queues/api/queues/metered%20mail/metrics",
            params={"type": kind, "start": start, "end": end},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected, key


@pytest.mark.parametrize("major", MAJORS, ids=[f"bullmq{m}" for m in MAJORS])
async def test_metrics_equal_nodes_get_metrics(
    node: str, major: str, server_url: str, r: aioredis.Redis
) -> None:
    worked = node_metrics(node, major, server_url, "work", "4", "2")
    assert worked["completed 0 -1"]["meta"]["count"] == 4
    assert worked["failed 0 -1"]["meta"]["count"] == 2
    async with make_client(Settings(redis_url=server_url)) as http:
        await assert_same(http, worked)
        # Three earlier minutes, newest first, as collectMetrics pushes them.
        for kind, points in (("completed", ("3", "0", "7")), ("failed", ("1", "0", "2"))):
            await r.rpush(f"bull:{QUEUE}:metrics:{kind}:data", *points)
        again = node_metrics(node, major, server_url, "read")
        assert again["completed 0 -1"]["data"] == [3, 0, 7]
        await assert_same(http, again)
