"""BullMQ's own per-minute metrics, read as Node's `queue.getMetrics(type, start, end)` reads them.

Workers started with `metrics: {maxDataPoints: n}` (Node or Python `bullmq`, and Drainboard's
drains with `--metrics-max-data-points`) count each finished job in the queue's `metrics:<kind>`
hash (`count`, `prevTS`, `prevCount`) and push one data point per elapsed minute to its `:data`
list, newest first, keeping at most n. Nothing here writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from dashboard.bullmq.keys import METRIC_KINDS, QueueKeys
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute
from dashboard.redis_client.replies import to_int

MINUTE_MS = 60_000
MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class Metrics:
    count: int
    prev_ts: int
    prev_count: int
    data: list[int]
    points: int  # how many data points the list holds, whatever range was read

    @property
    def recorded(self) -> bool:
        return self.count > 0 or self.points > 0

    def as_json(self) -> dict[str, Any]:
        """Node's getMetrics answer, field for field."""
        return {
            "meta": {"count": self.count, "prevTS": self.prev_ts, "prevCount": self.prev_count},
            "data": self.data,
            "count": self.points,
        }

    def per_minute(self) -> dict[int, int]:
        """Jobs per minute (minutes since the epoch). data[i] holds the minute i+1 before the
        one of prevTS; that minute's own jobs are still `count - prevCount`, not yet a point."""
        if not self.recorded:
            return {}
        newest = self.prev_ts // MINUTE_MS
        minutes = {newest - 1 - i: value for i, value in enumerate(self.data)}
        minutes[newest] = max(0, self.count - self.prev_count)
        return minutes


def _queue_reads(pipe: Any, keys: QueueKeys, kind: str, start: int, end: int) -> None:
    pipe.hmget(keys.metrics(kind), ["count", "prevTS", "prevCount"])
    pipe.lrange(keys.metrics_data(kind), start, end)
    pipe.llen(keys.metrics_data(kind))


def _parse(meta: list[Any], data: list[Any], points: int) -> Metrics:
    count, prev_ts, prev_count = (to_int(v) for v in meta)
    return Metrics(count, prev_ts, prev_count, [to_int(p) for p in data], int(points))


async def read(
    redis: Client, prefix: str, queue: str, kind: str, start: int = 0, end: int = -1
) -> Metrics:
    """One kind, one round trip of 3 commands (the reads of BullMQ's getMetrics script)."""
    pipe = redis.pipeline(transaction=False)
    _queue_reads(pipe, QueueKeys(prefix, queue), kind, start, end)
    return _parse(*await execute(pipe))


async def read_day(redis: Client, prefix: str, queue: str) -> dict[str, Metrics]:
    """Both kinds' last 24 hours of points, for the chart: one round trip of 6 commands."""
    pipe = redis.pipeline(transaction=False)
    keys = QueueKeys(prefix, queue)
    for kind in METRIC_KINDS:
        _queue_reads(pipe, keys, kind, 0, MINUTES_PER_DAY - 1)
    replies = await execute(pipe)
    return {kind: _parse(*replies[i * 3 : i * 3 + 3]) for i, kind in enumerate(METRIC_KINDS)}


async def totals(redis: Client, prefix: str, queues: list[str]) -> dict[str, dict[str, int | None]]:
    """Each queue's recorded completed and failed totals (None where nothing records them):
    one round trip of 2 commands per queue."""
    if not queues:
        return {}
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        for kind in METRIC_KINDS:
            pipe.hget(QueueKeys(prefix, queue).metrics(kind), "count")
    replies = iter(await execute(pipe))
    return {
        queue: {
            kind: (None if (v := next(replies)) is None else to_int(v)) for kind in METRIC_KINDS
        }
        for queue in queues
    }


def now_minute() -> int:
    return int(time.time() * 1000) // MINUTE_MS
