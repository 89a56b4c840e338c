"""The read side: queue counts, pages of jobs and single jobs, straight from BullMQ's keys.

Every method is a fixed number of pipelined round trips whose command count depends on the page
size, never on how many jobs a queue holds. Nothing here writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from dashboard import jobs
from dashboard.keys import STATE_STORAGE, STATES, QueueKeys, is_job_id
from dashboard.redact import Redactor
from dashboard.spending import spend

# The keys `Reader.recount` answers the paused flag and the scheduler count under.
PAUSED_FLAG = "isPaused"
SCHEDULERS = "schedulers"

# Redis commands sent while handling the current request, shown in each page's footer.
commands_spent: ContextVar[int] = ContextVar("commands_spent", default=0)

READ_TIMEOUT_S = 10

# The states kept in sorted sets, probed with ZSCORE.
SET_STATES = ("completed", "failed", "delayed", "prioritized", "waiting-children")
# The states kept in lists, probed with LPOS only when no sorted set holds the job.
LIST_STATES = ("active", "waiting", "paused")

# Commands per queue in a summary: the state counts, the paused flag, the scheduler count.
SUMMARY_WIDTH = len(STATES) + 2

# The newest log lines shown with a job; the full count is reported beside them.
LOG_LINES = 200


@dataclass(frozen=True)
class QueueSummary:
    name: str
    counts: dict[str, int]
    is_paused: bool
    # Job schedulers and repeatable jobs: shown on the pages, not part of the API's contract.
    schedulers: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "counts": self.counts, "isPaused": self.is_paused}


@dataclass(frozen=True)
class JobPage:
    queue: QueueSummary
    state: str
    page: int
    page_size: int
    jobs: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return self.queue.counts[self.state]

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))


class Reader:
    def __init__(self, redis: Redis, prefix: str, redactor: Redactor | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.redactor = redactor or Redactor()

    def keys(self, queue: str) -> QueueKeys:
        return QueueKeys(self.prefix, queue)

    def _queue_commands(self, pipe: Any, queue: str) -> None:
        """Queue 10 commands: one count per state, whether the queue is paused, its schedulers."""
        keys = self.keys(queue)
        for state in STATES:
            _count(pipe, keys, state)
        pipe.hexists(keys.meta, "paused")
        pipe.zcard(keys.schedulers)

    async def recount(
        self, wanted: Mapping[str, Collection[str] | None]
    ) -> dict[str, dict[str, int]]:
        """Some counts of some queues, in one round trip: for each queue the states named (and
        SCHEDULERS if named), or (None) everything a summary holds: every state, SCHEDULERS,
        and the paused flag as PAUSED_FLAG (0 or 1)."""
        pipe = self.redis.pipeline(transaction=False)
        plan: list[tuple[str, str]] = []
        for queue, states in wanted.items():
            keys = self.keys(queue)
            for state in STATES:
                if states is None or state in states:
                    _count(pipe, keys, state)
                    plan.append((queue, state))
            if states is None:
                pipe.hexists(keys.meta, "paused")
                plan.append((queue, PAUSED_FLAG))
            if states is None or SCHEDULERS in states:
                pipe.zcard(keys.schedulers)
                plan.append((queue, SCHEDULERS))
        if not plan:
            return {}
        answer: dict[str, dict[str, int]] = {}
        for (queue, name), value in zip(plan, await execute(pipe), strict=True):
            answer.setdefault(queue, {})[name] = int(value)
        return answer

    @staticmethod
    def _queue_summary(queue: str, replies: list[Any]) -> QueueSummary:
        counts = {state: int(n) for state, n in zip(STATES, replies, strict=False)}
        return QueueSummary(
            queue, counts, bool(replies[len(STATES)]), int(replies[len(STATES) + 1])
        )

    async def summaries(self, queues: list[str]) -> list[QueueSummary]:
        """Counts of every state for each queue, in one round trip."""
        if not queues:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for queue in queues:
            self._queue_commands(pipe, queue)
        replies = await execute(pipe)
        width = SUMMARY_WIDTH
        return [
            self._queue_summary(queue, replies[i * width : (i + 1) * width])
            for i, queue in enumerate(queues)
        ]

    async def job_page(self, queue: str, state: str, page: int, page_size: int) -> JobPage:
        """One page of a state's jobs in Node BullMQ's getJobs order, with the queue's counts."""
        keys = self.keys(queue)
        key = keys.state(state)
        start = (page - 1) * page_size
        end = start + page_size - 1

        pipe = self.redis.pipeline(transaction=False)
        self._queue_commands(pipe, queue)
        if STATE_STORAGE[state][1] == "list":
            pipe.lrange(key, start, end)
        else:
            pipe.zrevrange(key, start, end)
        if state == "waiting":
            # Node BullMQ's getJobs(["waiting"]) reads the legacy paused list too (BullMQ 5 moves
            # a paused queue's jobs there), paging each list with the same range.
            pipe.lrange(keys.state("paused"), start, end)
        replies = await execute(pipe)
        width = SUMMARY_WIDTH
        summary = self._queue_summary(queue, replies[:width])
        ids = [job_id for chunk in replies[width:] for job_id in chunk if is_job_id(job_id)]

        rows: list[dict[str, Any]] = []
        if ids:
            pipe = self.redis.pipeline(transaction=False)
            for job_id in ids:
                pipe.hmget(keys.job(job_id), jobs.SUMMARY_FIELDS)
            for job_id, values in zip(ids, await execute(pipe), strict=True):
                if any(v is not None for v in values):
                    rows.append(
                        jobs.summary(job_id, dict(zip(jobs.SUMMARY_FIELDS, values, strict=True)))
                    )
        return JobPage(summary, state, page, page_size, rows)

    async def job(self, queue: str, job_id: str, redacted: bool = True) -> dict[str, Any] | None:
        """One job in full with its state and newest logs, or None when it does not exist.
        Redacted (--redact, --formatter) unless the caller writes it back, as Duplicate does."""
        if not is_job_id(job_id):
            return None
        keys = self.keys(queue)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(keys.job(job_id))
        pipe.lrange(keys.job_logs(job_id), -LOG_LINES, -1)
        pipe.llen(keys.job_logs(job_id))
        set_probes(pipe, self.keys(queue), job_id)
        raw, logs, log_count, *set_hits = await execute(pipe)
        if not raw:
            return None
        state = await self._state(queue, job_id, set_hits)
        job = jobs.detail(job_id, raw, state, logs, log_count)
        return self.redactor.job(job) if redacted else job

    async def job_state(self, queue: str, job_id: str) -> str | None:
        """The job's state as Node BullMQ's getState names it, or None when it does not exist."""
        if not is_job_id(job_id):
            return None
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(self.keys(queue).job(job_id))
        set_probes(pipe, self.keys(queue), job_id)
        exists, *set_hits = await execute(pipe)
        return await self._state(queue, job_id, set_hits) if exists else None

    async def _state(self, queue: str, job_id: str, set_hits: list[Any]) -> str:
        """Node BullMQ's getState. The sorted-set probes are O(log n) and go first; the LPOS scans
        of the lists only run when none of them hit, as Node's script stops early."""
        if not needs_list_probes(set_hits):
            return state_from_probes(set_hits, None)
        pipe = self.redis.pipeline(transaction=False)
        list_probes(pipe, self.keys(queue), job_id)
        return state_from_probes(set_hits, await execute(pipe))

    async def job_field(self, queue: str, job_id: str, field: str) -> str | None:
        """One stored value as Redis holds it; with redaction on, the redacted value as JSON."""
        if not is_job_id(job_id):
            return None
        if self.redactor.active:
            job = await self.job(queue, job_id)
            return None if job is None else json.dumps(job.get(field), ensure_ascii=False)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(self.keys(queue).job(job_id), field)
        (value,) = await execute(pipe)
        return value


def _count(pipe: Any, keys: QueueKeys, state: str) -> None:
    if STATE_STORAGE[state][1] == "list":
        pipe.llen(keys.state(state))
    else:
        pipe.zcard(keys.state(state))


def set_probes(pipe: Any, keys: QueueKeys, job_id: str) -> None:
    for state in SET_STATES:
        pipe.zscore(keys.state(state), job_id)


def list_probes(pipe: Any, keys: QueueKeys, job_id: str) -> None:
    for state in LIST_STATES:
        pipe.lpos(keys.state(state), job_id)


def needs_list_probes(set_hits: list[Any]) -> bool:
    """No sorted set but waiting-children holds the job: the lists decide, as in Node's getState."""
    return all(hit is None for hit in set_hits[: len(SET_STATES) - 1])


def state_from_probes(set_hits: list[Any], list_hits: list[Any] | None) -> str:
    """Node BullMQ's getState order: completed, failed, delayed, prioritized, then the lists
    (a job in the paused list is "waiting" to Node too), then waiting-children."""
    hits = dict(zip(SET_STATES, set_hits, strict=True))
    for state in ("completed", "failed", "delayed", "prioritized"):
        if hits[state] is not None:
            return state
    active, waiting, paused = list_hits or (None, None, None)
    if active is not None:
        return "active"
    if waiting is not None or paused is not None:
        return "waiting"
    return "waiting-children" if hits["waiting-children"] is not None else "unknown"


async def execute(pipe: Any) -> list[Any]:
    commands_spent.set(commands_spent.get() + len(pipe))
    spend("reads", len(pipe))
    # One deadline for the whole round trip: cheaper than redis-py's per-reply socket timeout.
    async with asyncio.timeout(READ_TIMEOUT_S):
        return await pipe.execute()
