"""A queue's global concurrency and rate limit, as BullMQ keeps them in its meta hash: 1 HMGET."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.bullmq.keys import QueueKeys
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute
from dashboard.redis_client.replies import to_int


@dataclass(frozen=True)
class Limits:
    concurrency: int | None
    max_jobs: int | None
    duration_ms: int | None


async def read(redis: Client, prefix: str, queue: str) -> Limits:
    pipe = redis.pipeline(transaction=False)
    pipe.hmget(QueueKeys(prefix, queue).meta, ["concurrency", "max", "duration"])
    [(concurrency, max_jobs, duration)] = await execute(pipe)
    return Limits(to_int(concurrency, None), to_int(max_jobs, None), to_int(duration, None))
