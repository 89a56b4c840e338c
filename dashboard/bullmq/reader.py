"""The read side: queue counts, pages of jobs and single jobs, straight from BullMQ's keys.

Every method is a fixed number of pipelined round trips whose command count depends on the page
size, never on how many jobs a queue holds. Nothing here writes.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from dashboard.bullmq import jobs
from dashboard.bullmq.keys import STATE_STORAGE, STATES, QueueKeys, is_job_id, scheduler_hash_of
from dashboard.redact import Redactor
from dashboard.redis_client import batch
from dashboard.redis_client.batch import Batch
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute
from dashboard.redis_client.replies import to_int

# The name `Reader.recount` reads and answers the scheduler count under.
SCHEDULERS = "schedulers"

# A job whose stored values pass this many characters is decoded off the event loop, and only
# this many such jobs at a time.
BIG_JOB = 256 * 1024
BIG_DECODES = 2

# The states kept in sorted sets, probed with ZSCORE.
SET_STATES = ("completed", "failed", "delayed", "prioritized", "waiting-children")
# The states kept in lists, probed with LPOS only when no sorted set holds the job.
LIST_STATES = ("active", "waiting", "paused")
# What Reader.selection_states says of a job no sorted set holds, the lists left unprobed.
IN_A_LIST = "in a list"

# A summary counts every state but `paused` at once: that list holds jobs only while a queue is
# paused, and only under BullMQ 5 and the Python package (BullMQ 6 leaves them in `wait`), so it
# is read afterwards for such queues alone. Then an overview costs 9 commands a queue shown.
SUMMARY_STATES = tuple(state for state in STATES if state != "paused")
# Commands per queue in a summary: those counts, the paused flag with the library version
# (one HMGET), the scheduler count.
SUMMARY_WIDTH = len(SUMMARY_STATES) + 2

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

    def listed(self, state: str) -> int:
        """How many jobs a state's list holds, as Node's getJobs lists them: under BullMQ 5 a
        paused queue's jobs sit in its `paused` list, which getJobs(["waiting"]) reads too (and
        its getWaitingCount counts), so the Waiting list holds both."""
        return self.counts[state] + (self.counts.get("paused", 0) if state == "waiting" else 0)

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
        return self.queue.listed(self.state)

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))


class Reader:
    def __init__(self, redis: Client, prefix: str, redactor: Redactor | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.redactor = redactor or Redactor()
        self._big_decodes = asyncio.Semaphore(BIG_DECODES)

    def keys(self, queue: str) -> QueueKeys:
        return QueueKeys(self.prefix, queue)

    def _queue_commands(self, pipe: Batch, queue: str) -> None:
        """Queue SUMMARY_WIDTH commands: the summary's counts, the paused flag and version, the
        schedulers."""
        keys = self.keys(queue)
        for state in SUMMARY_STATES:
            _count(pipe, keys, state)
        pipe.hmget(keys.meta, "paused", "version")
        pipe.zcard(keys.schedulers)

    async def recount(
        self, wanted: Mapping[str, Collection[str] | None]
    ) -> dict[str, QueueSummary | dict[str, int]]:
        """Some counts of some queues, in one round trip (two when a paused list must be read):
        for each queue the states named (and SCHEDULERS if named), or (None) its summary."""
        pipe = Batch()
        plan: list[tuple[str, str | None]] = []
        for queue, states in wanted.items():
            if states is None:
                self._queue_commands(pipe, queue)
                plan.append((queue, None))
                continue
            keys = self.keys(queue)
            for state in STATES:
                if state in states:
                    _count(pipe, keys, state)
                    plan.append((queue, state))
            if SCHEDULERS in states:
                pipe.zcard(keys.schedulers)
                plan.append((queue, SCHEDULERS))
        if not plan:
            return {}
        replies = iter(await batch.read(self.redis, pipe))
        counts: dict[str, dict[str, int]] = {}
        summaries: list[_Summary] = []
        for queue, name in plan:
            if name is None:
                summaries.append(_summary(queue, [next(replies) for _ in range(SUMMARY_WIDTH)]))
            else:
                counts.setdefault(queue, {})[name] = int(next(replies))
        read = await self._with_paused_lists(summaries)
        return {**counts, **{summary.name: summary for summary in read}}

    async def summaries(self, queues: list[str]) -> list[QueueSummary]:
        """Counts of every state for each queue, in one round trip (two when a paused list must
        be read)."""
        if not queues:
            return []
        pipe = Batch()
        for queue in queues:
            self._queue_commands(pipe, queue)
        replies = await batch.read(self.redis, pipe)
        width = SUMMARY_WIDTH
        read = [_summary(q, replies[i * width : (i + 1) * width]) for i, q in enumerate(queues)]
        return await self._with_paused_lists(read)

    async def _with_paused_lists(self, summaries: list[_Summary]) -> list[QueueSummary]:
        """The summaries, with the `paused` list counted where it may hold jobs."""
        held = [s.summary.name for s in summaries if s.may_hold_paused_list]
        if not held:
            return [s.summary for s in summaries]
        pipe = Batch()
        for queue in held:
            _count(pipe, self.keys(queue), "paused")
        lengths = dict(zip(held, await batch.read(self.redis, pipe), strict=True))
        return [
            replace(s.summary, counts={**s.summary.counts, "paused": int(lengths[s.summary.name])})
            if s.summary.name in lengths
            else s.summary
            for s in summaries
        ]

    async def job_page(self, queue: str, state: str, page: int, page_size: int) -> JobPage:
        """One page of a state's jobs in Node BullMQ's getJobs order, with the queue's counts."""
        keys = self.keys(queue)
        key = keys.state(state)
        start = (page - 1) * page_size
        end = start + page_size - 1

        pipe = Batch()
        self._queue_commands(pipe, queue)
        if STATE_STORAGE[state][1] == "list":
            pipe.lrange(key, start, end)
        else:
            pipe.zrevrange(key, start, end)
        if state == "waiting":
            # Node BullMQ's getJobs(["waiting"]) reads the legacy paused list too (BullMQ 5 moves
            # a paused queue's jobs there), paging each list with the same range.
            pipe.lrange(keys.state("paused"), start, end)
        replies = await batch.read(self.redis, pipe)
        width = SUMMARY_WIDTH
        (summary,) = await self._with_paused_lists([_summary(queue, replies[:width])])
        ids = [job_id for chunk in replies[width:] for job_id in chunk if is_job_id(job_id)]

        rows: list[dict[str, Any]] = []
        if ids:
            pipe = Batch()
            for job_id in ids:
                pipe.hmget(keys.job(job_id), *jobs.SUMMARY_FIELDS)
            for job_id, values in zip(ids, await batch.read(self.redis, pipe), strict=True):
                if any(v is not None for v in values):
                    rows.append(
                        jobs.summary(job_id, dict(zip(jobs.SUMMARY_FIELDS, values, strict=True)))
                    )
        return JobPage(summary, state, page, page_size, rows)

    async def job(
        self, queue: str, job_id: str, redacted: bool = True, preview: int | None = None
    ) -> dict[str, Any] | None:
        """One job in full with its state and newest logs, or None when it does not exist.
        Redacted (--redact, --formatter) unless the caller writes it back, as Duplicate does.
        `preview`: a page's limit, past which data and return value are cut, not decoded.

        Commands: the hash, the logs and getState's probes up to the first hit, as Node BullMQ
        asks them (the hash, then its getState script), so never more than Bull Board executes
        for the same job, logs included. The completed set is probed with the hash; the other
        probes follow in a second round trip, as many of getState's as the hash makes likely
        (see likely_place). No Lua script: its EVALSHA would be one command more than Node's."""
        if not is_job_id(job_id):
            return None
        keys = self.keys(queue)
        pipe = Batch()
        pipe.hgetall(keys.job(job_id))
        pipe.lrange(keys.job_logs(job_id), -LOG_LINES, -1)
        _probe(pipe, keys, PLACES[0], job_id)
        raw, logs, completed = await batch.read(self.redis, pipe)
        if not raw:
            return None
        found = await self._find(keys, job_id, raw, completed is not None, len(logs) == LOG_LINES)
        if found is None:
            return None
        state, log_count = found
        return await self._decode(
            job_id,
            raw,
            state,
            logs,
            len(logs) if log_count is None else log_count,
            redacted,
            preview,
        )

    async def _find(
        self, keys: QueueKeys, job_id: str, raw: dict[str, str], completed: bool, count_logs: bool
    ) -> tuple[str, int | None] | None:
        """getState after the completed probe, with the log count when the newest LOG_LINES may
        not be all; None when the hash is a scheduler's (see may_be_scheduler)."""
        asks_scheduler = may_be_scheduler(job_id, raw)
        state = "completed" if completed else None
        tried = 1  # PLACES probed so far
        upto = likely_place(raw)
        log_count: int | None = None
        while state is None or asks_scheduler or count_logs:
            pipe = Batch()
            probed = PLACES[tried : upto + 1] if state is None else ()
            for place in probed:
                _probe(pipe, keys, place, job_id)
            if asks_scheduler:
                probe_scheduler(pipe, keys, job_id)
            if count_logs:
                pipe.llen(keys.job_logs(job_id))
            replies = iter(await batch.read(self.redis, pipe))
            hits = [place for place in probed if next(replies) is not None]
            if state is None:
                state = _place_state(hits[0]) if hits else None
                if state is None and upto == len(PLACES) - 1:
                    state = "unknown"  # in no structure, as Node's getState answers
            if asks_scheduler and next(replies) is not None:
                return None
            if count_logs:
                log_count = int(next(replies))
            asks_scheduler = count_logs = False
            # A miss: the hash was read before the job moved on (or is unusual); the next place
            # in getState's order, one a round trip, so that no probe is spent past the hit.
            tried, upto = upto + 1, upto + 1
        return state, log_count

    async def _decode(
        self,
        job_id: str,
        raw: dict[str, str],
        state: str,
        logs: list[str],
        log_count: int,
        redacted: bool,
        preview: int | None,
    ) -> dict[str, Any]:
        """jobs.detail, then the redaction, which must see every value whole (no preview). A big
        job is decoded in a worker thread, BIG_DECODES at a time: the loop keeps answering
        between the pieces of Python work, and twenty views of a 10 MB job hold two decoded
        copies in memory at once, not twenty."""
        redacting = redacted and self.redactor.active

        def build() -> dict[str, Any]:
            job = jobs.detail(job_id, raw, state, logs, log_count, None if redacting else preview)
            return self.redactor.job(job) if redacted else job

        if sum(len(value) for value in raw.values()) <= BIG_JOB:
            return build()
        async with self._big_decodes:
            built: dict[str, Any] = await asyncio.to_thread(build)
            return built

    async def job_state(self, queue: str, job_id: str) -> str | None:
        """The job's state as Node BullMQ's getState names it, or None when it does not exist."""
        if not is_job_id(job_id):
            return None
        keys = self.keys(queue)
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(keys.job(job_id))
        set_probes(pipe, keys, job_id)
        probe_scheduler(pipe, keys, job_id)
        replies, is_scheduler = scheduler_probed(job_id, await execute(pipe))
        exists, *set_hits = replies
        if not exists or is_scheduler:
            return None
        return await self._state(queue, job_id, set_hits)

    async def job_states(self, queue: str, job_ids: list[str]) -> dict[str, str | None]:
        """job_state for a selection of jobs in two round trips whatever its size: the probes
        of every job in one pipeline, then the list probes of those no sorted set holds."""
        keys = self.keys(queue)
        states: dict[str, str | None] = dict.fromkeys(job_ids)
        found = {
            job_id: hits for job_id, (hits, _) in (await self._set_probed(queue, job_ids)).items()
        }
        in_lists = [job_id for job_id, hits in found.items() if needs_list_probes(hits)]
        pipe = self.redis.pipeline(transaction=False)
        for job_id in in_lists:
            list_probes(pipe, keys, job_id)
        list_replies = await execute(pipe) if in_lists else []
        width = len(LIST_STATES)
        listed = {
            job_id: list_replies[i * width : (i + 1) * width] for i, job_id in enumerate(in_lists)
        }
        for job_id, hits in found.items():
            states[job_id] = state_from_probes(hits, listed.get(job_id))
        return states

    async def selection_states(
        self, queue: str, job_ids: list[str], *, active: bool = False, field: str | None = None
    ) -> tuple[dict[str, str | None], dict[str, Any]]:
        """The states of a selection in one round trip, the lists left unprobed (LPOS takes as
        long as the list is long): a job no sorted set holds is IN_A_LIST, or "active" when
        `active` asks for that list's probe (as long as the jobs workers hold). None: no such
        job. With `field`, that field of each job's hash too."""
        keys = self.keys(queue)
        states: dict[str, str | None] = dict.fromkeys(job_ids)
        fields: dict[str, Any] = {}

        def extra(pipe: Any, job_id: str) -> None:
            if active:
                pipe.lpos(keys.state("active"), job_id)
            if field is not None:
                pipe.hget(keys.job(job_id), field)

        probed = await self._set_probed(queue, job_ids, extra, active + (field is not None))
        for job_id, (hits, extras) in probed.items():
            if not needs_list_probes(hits):
                states[job_id] = state_from_probes(hits, None)
            else:
                states[job_id] = "active" if active and extras[0] is not None else IN_A_LIST
            if field is not None:
                fields[job_id] = extras[-1]
        return states, fields

    async def _set_probed(
        self,
        queue: str,
        job_ids: list[str],
        extra: Callable[[Any, str], None] | None = None,
        extras: int = 0,
    ) -> dict[str, tuple[list[Any], list[Any]]]:
        """One pipeline: for each job, whether it exists, `extra`'s `extras` commands and the
        sorted-set probes. Each job that exists (and is no scheduler's hash): its set hits and
        the extra replies."""
        keys = self.keys(queue)
        ids = [job_id for job_id in job_ids if is_job_id(job_id)]
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.exists(keys.job(job_id))
            if extra is not None:
                extra(pipe, job_id)
            set_probes(pipe, keys, job_id)
            probe_scheduler(pipe, keys, job_id)
        replies = await execute(pipe) if ids else []
        found: dict[str, tuple[list[Any], list[Any]]] = {}
        at = 0
        for job_id in ids:
            width = 1 + extras + len(SET_STATES) + (scheduler_hash_of(job_id) is not None)
            probed, is_scheduler = scheduler_probed(job_id, replies[at : at + width])
            at += width
            if probed[0] and not is_scheduler:
                found[job_id] = (probed[1 + extras :], probed[1 : 1 + extras])
        return found

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
        keys = self.keys(queue)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(keys.job(job_id), field)
        probe_scheduler(pipe, keys, job_id)
        (value,), is_scheduler = scheduler_probed(job_id, await execute(pipe))
        return None if is_scheduler else value


def _count(pipe: Batch, keys: QueueKeys, state: str) -> None:
    if STATE_STORAGE[state][1] == "list":
        pipe.llen(keys.state(state))
    else:
        pipe.zcard(keys.state(state))


@dataclass(frozen=True)
class _Summary:
    summary: QueueSummary
    # Paused under BullMQ 5 or the Python package: its jobs may sit in the `paused` list.
    may_hold_paused_list: bool


def _summary(queue: str, replies: list[Any]) -> _Summary:
    """A queue's summary from its SUMMARY_WIDTH replies; `paused` counts 0 until read."""
    counts = dict.fromkeys(STATES, 0)
    counts.update({state: int(n) for state, n in zip(SUMMARY_STATES, replies, strict=False)})
    paused, version = replies[len(SUMMARY_STATES)]
    major = re.match(r"bullmq:(\d+)\.", version or "")
    keeps_wait = major is not None and int(major.group(1)) >= 6
    return _Summary(
        QueueSummary(queue, counts, paused is not None, int(replies[len(SUMMARY_STATES) + 1])),
        may_hold_paused_list=paused is not None and not keeps_wait,
    )


# Where Node BullMQ's getState looks for a job, in its order (a job in the paused list is
# "waiting" to Node).
PLACES = (
    "completed",
    "failed",
    "delayed",
    "prioritized",
    "active",
    "waiting",
    "paused",
    "waiting-children",
)


def _probe(pipe: Any, keys: QueueKeys, place: str, job_id: str) -> None:
    if STATE_STORAGE[place][1] == "list":
        pipe.lpos(keys.state(place), job_id)
    else:
        pipe.zscore(keys.state(place), job_id)


def _place_state(place: str) -> str:
    return "waiting" if place == "paused" else place


def likely_place(raw: Mapping[str, str]) -> int:
    """The index in PLACES of where BullMQ keeps a job whose hash this is, when it is not in the
    completed set: getState's probes up to there are asked at once. It only sets how many: a
    guess too near costs a round trip, one too far the probes past the hit, and the state is
    getState's either way, found in its order.
    A finished job not completed has failed; BullMQ sets `delay` while a job waits in the
    delayed set (a backoff too) and zeroes it when moving it on; a positive priority waits in
    the prioritized set, a job once taken is likely active, and any other waits."""
    if raw.get("finishedOn"):
        return PLACES.index("failed")
    if to_int(raw.get("delay")) > 0:
        return PLACES.index("delayed")
    if to_int(raw.get("priority")) > 0:
        return PLACES.index("prioritized")
    if raw.get("processedOn"):
        return PLACES.index("active")
    return PLACES.index("waiting")


def may_be_scheduler(job_id: str, raw: Mapping[str, str]) -> bool:
    """Whether the repeat set must be asked if the hash of this `repeat:` id is a scheduler's
    (see keys.scheduler_hash_of). BullMQ stores `timestamp` in every job's hash and in no
    scheduler's, and `ic` in every job scheduler's: a hash with a timestamp and no `ic` is a job,
    and the probe would be a command more than Node asks."""
    if scheduler_hash_of(job_id) is None:
        return False
    return "timestamp" not in raw or "ic" in raw


def set_probes(pipe: Any, keys: QueueKeys, job_id: str) -> None:
    for state in SET_STATES:
        pipe.zscore(keys.state(state), job_id)


def probe_scheduler(pipe: Any, keys: QueueKeys, job_id: str) -> None:
    """Queued last: whether the repeat set holds the scheduler whose hash a `repeat:` id names,
    which makes that hash a scheduler's, not a job's (see keys.scheduler_hash_of)."""
    scheduler = scheduler_hash_of(job_id)
    if scheduler is not None:
        pipe.zscore(keys.schedulers, scheduler)


def scheduler_probed(job_id: str, replies: list[Any]) -> tuple[list[Any], bool]:
    """The replies without probe_scheduler's, and whether the id names a scheduler's hash."""
    if scheduler_hash_of(job_id) is None:
        return replies, False
    return replies[:-1], replies[-1] is not None


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
