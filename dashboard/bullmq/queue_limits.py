"""A queue's global concurrency and rate limit, as BullMQ keeps them in its meta hash: 1 HMGET."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.bullmq.keys import QueueKeys
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute


@dataclass(frozen=True)
class Limits:
    concurrency: int | None
    max_jobs: int | None
    duration_ms: int | None


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


async def read(redis: Client, prefix: str, queue: str) -> Limits:
    pipe = redis.pipeline(transaction=False)
    pipe.hmget(QueueKeys(prefix, queue).meta, ["concurrency", "max", "duration"])
    [(concurrency, max_jobs, duration)] = await execute(pipe)
    return Limits(_int(concurrency), _int(max_jobs), _int(duration))
