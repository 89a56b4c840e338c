"""A queue's job schedulers, read as Node BullMQ's Queue.getJobSchedulers() reads them.

BullMQ keeps both kinds in the `repeat` sorted set, scored by the next run in ms: job schedulers
(`upsertJobScheduler`, BullMQ 5 and 6) and BullMQ 5's repeatable jobs (`add(…, {repeat})`), each
with a `repeat:<id>` hash. Keys written by BullMQ 3 and older carry everything in the member itself
(`name:jobId:endDate:tz:pattern`) and have no hash. A page costs two round trips: the count and
the page's ids, then one HGETALL and one ZSCORE (is the pending job still delayed?) per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dashboard.bullmq.jobs import decode_opts, json_or_text
from dashboard.bullmq.keys import QueueKeys, scheduler_job_id
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute
from dashboard.redis_client.replies import to_int


@dataclass(frozen=True)
class Scheduler:
    id: str
    name: str | None
    next: int | None
    pattern: str | None = None
    every: int | None = None
    tz: str | None = None
    iteration_count: int | None = None
    limit: int | None = None
    start_date: int | None = None
    end_date: int | None = None
    template: dict[str, Any] | None = None
    # A BullMQ 5 repeatable job (no iteration count) rather than a job scheduler.
    legacy: bool = False
    # Written by BullMQ 3 or older: no hash, and the pending job's id cannot be derived here.
    key_only: bool = False
    # The id of the delayed job waiting for the next run, while it is still delayed.
    pending_job_id: str | None = None
    # The id of the next run's job, delayed or not: after Run now it is promoted, and the
    # scheduler's next time is set only when a worker takes it.
    job_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "pattern": self.pattern,
            "every": self.every,
            "tz": self.tz,
            "next": self.next,
            "iterationCount": self.iteration_count,
            "limit": self.limit,
            "startDate": self.start_date,
            "endDate": self.end_date,
            "template": self.template,
        }


@dataclass(frozen=True)
class SchedulerPage:
    schedulers: list[Scheduler]
    total: int
    page: int
    page_size: int

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


async def scheduler_page(
    redis: Client, keys: QueueKeys, page: int, page_size: int, total: int | None = None
) -> SchedulerPage:
    """One page in getJobSchedulers() order (latest next run first). `total`: the scheduler
    count, when the caller has just read it (a page's queue summary holds it)."""
    start = (page - 1) * page_size
    pipe = redis.pipeline(transaction=False)
    if total is None:
        pipe.zcard(keys.schedulers)
    pipe.zrevrange(keys.schedulers, start, start + page_size - 1, withscores=True)
    *counted, entries = await execute(pipe)
    count = int(counted[0]) if counted else int(total or 0)
    if not entries:
        return SchedulerPage([], count, page, page_size)

    pipe = redis.pipeline(transaction=False)
    for scheduler_id, score in entries:
        pipe.hgetall(keys.scheduler(scheduler_id))
        pipe.zscore(keys.state("delayed"), scheduler_job_id(scheduler_id, int(score)))
    replies = await execute(pipe)
    schedulers = []
    for (scheduler_id, score), fields, delayed in zip(
        entries, replies[::2], replies[1::2], strict=True
    ):
        scheduler = decode(scheduler_id, fields, int(score), delayed is not None)
        if scheduler is not None:
            schedulers.append(scheduler)
    return SchedulerPage(schedulers, count, page, page_size)


async def next_run(redis: Client, keys: QueueKeys, scheduler_id: str) -> tuple[int | None, bool]:
    """The scheduler's next run (None when there is no such scheduler), and whether it is one
    BullMQ 3 wrote, which has no hash."""
    pipe = redis.pipeline(transaction=False)
    pipe.zscore(keys.schedulers, scheduler_id)
    pipe.exists(keys.scheduler(scheduler_id))
    score, has_hash = await execute(pipe)
    return (None if score is None else int(score)), not has_hash


def decode(
    scheduler_id: str, fields: dict[str, str], next_ms: int, pending: bool
) -> Scheduler | None:
    """Node's transformSchedulerData; None where Node 6 leaves an entry out (no hash, not a
    BullMQ 3 key)."""
    if not fields:
        return _from_key(scheduler_id, next_ms)
    template = None
    if fields.get("data") or fields.get("opts"):
        template = {
            "data": json_or_text(fields.get("data")),
            "opts": decode_opts(fields["opts"]) if fields.get("opts") else None,
        }
    return Scheduler(
        id=scheduler_id,
        name=fields.get("name"),
        next=next_ms,
        pattern=fields.get("pattern") or None,
        every=to_int(fields.get("every"), None),
        tz=fields.get("tz") or None,
        iteration_count=to_int(fields.get("ic"), None),
        limit=to_int(fields.get("limit"), None),
        start_date=to_int(fields.get("startDate"), None),
        end_date=to_int(fields.get("endDate"), None),
        template=template,
        legacy="ic" not in fields,
        pending_job_id=scheduler_job_id(scheduler_id, next_ms) if pending else None,
        job_id=scheduler_job_id(scheduler_id, next_ms),
    )


def _from_key(key: str, next_ms: int) -> Scheduler | None:
    """Node 5's keyToData for `name:jobId:endDate:tz:pattern` members."""
    parts = key.split(":")
    if len(parts) < 5:
        return None
    return Scheduler(
        id=key,
        name=parts[0],
        next=next_ms,
        pattern=":".join(parts[4:]) or None,
        tz=parts[3] or None,
        end_date=to_int(parts[2]) or None,
        legacy=True,
        key_only=True,
    )


def drain_pickup(next_ms: int | None, drain_every_s: int | None) -> int | None:
    """When a cron drain that runs every `drain_every_s` seconds, on the clock (as cron does),
    first runs at or after the scheduler's next run."""
    if next_ms is None or not drain_every_s:
        return None
    period = drain_every_s * 1000
    return math.ceil(next_ms / period) * period
