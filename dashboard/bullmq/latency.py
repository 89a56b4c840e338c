"""A queue's latency, as Sidekiq shows it: how long its oldest waiting job has waited.

`wait` holds its newest job at the head, so its oldest is at the tail (LINDEX -1); of the
prioritized jobs, the next one taken is the lowest score (ZRANGE 0 0). The older of those two is
the latency: at most 2 commands a queue, and 1 HMGET per job found, whatever the queue's size.
A job waits from its `timestamp` plus its `delay` (a delayed job waits once it is due).
A paused queue holds its jobs on purpose (and BullMQ 5 keeps them in `paused`): none is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dashboard.bullmq.keys import QueueKeys
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import READ_TIMEOUT_S, count_reads
from dashboard.redis_client.replies import to_int


async def oldest_waiting(
    redis: Client, keys: list[QueueKeys], spent: Callable[[int], None] = count_reads
) -> dict[str, int | None]:
    """Per queue, when its oldest waiting job became due (ms since the epoch), or None when
    nothing waits. `spent` is told the commands sent (a page's footer by default)."""
    pipe = redis.pipeline(transaction=False)
    for k in keys:
        pipe.lindex(k.state("waiting"), -1)
        pipe.zrange(k.state("prioritized"), 0, 0)
    spent(len(pipe))
    async with asyncio.timeout(READ_TIMEOUT_S):
        heads = list(await pipe.execute()) if keys else []
    found: dict[str, list[str]] = {}
    for i, k in enumerate(keys):
        tail, next_prioritized = heads[2 * i], heads[2 * i + 1]
        found[k.queue] = [str(j) for j in [tail, *next_prioritized] if j is not None]
    pipe = redis.pipeline(transaction=False)
    asked = [(k, job) for k in keys for job in found[k.queue]]
    for k, job in asked:
        pipe.hmget(k.job(job), ["timestamp", "delay"])
    spent(len(pipe))
    async with asyncio.timeout(READ_TIMEOUT_S):
        jobs = list(await pipe.execute()) if asked else []
    oldest: dict[str, int | None] = {k.queue: None for k in keys}
    for (k, _), (timestamp, delay) in zip(asked, jobs, strict=True):
        if timestamp is None:
            continue  # removed between the two reads
        due = to_int(timestamp) + to_int(delay)
        current = oldest[k.queue]
        oldest[k.queue] = due if current is None else min(current, due)
    return oldest


def latency_s(due_ms: int | None, now_s: float) -> float | None:
    """Seconds the oldest job has waited by `now_s`, or None when nothing waits."""
    return None if due_ms is None else max(0.0, now_s - due_ms / 1000)
