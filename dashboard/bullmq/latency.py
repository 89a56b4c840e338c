"""A queue's latency, as Sidekiq shows it: how long its oldest waiting job has waited.

`wait` holds its newest job at the head, so its oldest is at the tail; of the prioritized jobs,
the next one taken is the lowest score. The older of those two is the latency. The counts say
which of the two lists hold jobs, so only those are read, and only for queues with jobs waiting.
A job waits from its `timestamp` plus its `delay` (a delayed job waits once it is due).
A paused queue holds its jobs on purpose (and BullMQ 5 keeps them in `paused`): none is counted.

One command a list: `SORT <list> BY nosort [DESC] LIMIT 0 1 GET <job>->timestamp GET
<job>->delay`. BY nosort sorts nothing: Redis walks a list (from the tail with DESC) or a sorted
set in its own order, stops at the first element, and reads the two fields of that job's hash.
So a queue costs 1 command (2 when it holds both plain and prioritized waiting jobs), all queues
in one round trip. A cluster refuses SORT's GET (its keys could be on another node), and so may
a server whose ACL allows only some keys: there the tail and the next prioritized job are read
(LINDEX, ZRANGE), then their hashes (HMGET): 2 commands a list, two round trips.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from dashboard.bullmq.keys import QueueKeys
from dashboard.bullmq.reader import QueueSummary
from dashboard.redis_client import batch
from dashboard.redis_client.batch import Batch
from dashboard.redis_client.connection import Client
from dashboard.redis_client.replies import to_int

JOB_FIELDS = ("timestamp", "delay")


def waiting_lists(summary: QueueSummary) -> list[str]:
    """The states whose end job may be the oldest waiting: those holding jobs, none if paused."""
    if summary.is_paused:
        return []
    return [state for state in ("waiting", "prioritized") if summary.counts.get(state, 0)]


async def oldest_waiting(
    redis: Client,
    keys_of: dict[str, QueueKeys],
    summaries: Iterable[QueueSummary],
    source: str = "reads",
) -> dict[str, int | None]:
    """Per queue summarised, when its oldest waiting job became due (ms since the epoch), or
    None when nothing waits. The commands are counted under `source` (and in the current
    request's footer)."""
    asked = [(s.name, state) for s in summaries for state in waiting_lists(s)]
    oldest: dict[str, int | None] = {s.name: None for s in summaries}
    if not asked:
        return oldest
    # A name holding `*` would put SORT's pattern placeholder in the wrong place.
    sortable = not isinstance(redis, RedisCluster) and all(
        "*" not in keys_of[queue].job("") for queue, _ in asked
    )
    found = None
    if sortable:
        try:
            found = await _by_sort(redis, keys_of, asked, source)
        except ResponseError:
            found = None  # refused (an ACL): the read that needs no SORT
    if found is None:
        found = await _by_index(redis, keys_of, asked, source)
    for (queue, _), (timestamp, delay) in zip(asked, found, strict=True):
        if timestamp is None:
            continue  # nothing there any more, or its hash removed meanwhile
        due = to_int(timestamp) + to_int(delay)
        current = oldest[queue]
        oldest[queue] = due if current is None else min(current, due)
    return oldest


async def _by_sort(
    redis: Client, keys_of: dict[str, QueueKeys], asked: list[tuple[str, str]], source: str
) -> list[tuple[Any, ...]]:
    pipe = Batch()
    for queue, state in asked:
        keys = keys_of[queue]
        pattern = keys.job("*")
        gets = [part for name in JOB_FIELDS for part in ("GET", f"{pattern}->{name}")]
        order = ["DESC"] if state == "waiting" else []
        pipe.sort_first(keys.state(state), *order, *gets)
    replies = await batch.read(redis, pipe, source)
    return [(reply[0], reply[1]) if reply else (None, None) for reply in replies]


async def _by_index(
    redis: Client, keys_of: dict[str, QueueKeys], asked: list[tuple[str, str]], source: str
) -> list[tuple[Any, ...]]:
    pipe = Batch()
    for queue, state in asked:
        if state == "waiting":
            pipe.lrange(keys_of[queue].state(state), -1, -1)
        else:
            pipe.zrange(keys_of[queue].state(state), 0, 0)
    ends = [reply[0] if reply else None for reply in await batch.read(redis, pipe, source)]
    pipe = Batch()
    for (queue, _), job in zip(asked, ends, strict=True):
        if job is not None:
            pipe.hmget(keys_of[queue].job(job), *JOB_FIELDS)
    values = iter(await batch.read(redis, pipe, source))
    return [(None, None) if job is None else tuple(next(values)) for job in ends]


def latency_s(due_ms: int | None, now_s: float) -> float | None:
    """Seconds the oldest job has waited by `now_s`, or None when nothing waits."""
    return None if due_ms is None else max(0.0, now_s - due_ms / 1000)
