"""The write side: every change to BullMQ's keys goes through the `bullmq` package's own scripts.

Bulk actions run in chunks (one script call per chunk), so memory stays flat however many jobs
they touch, and each reports how many jobs it moved. A refusal (wrong state, job locked) raises
ActionRefused before anything is written.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bullmq import Job, Queue
from bullmq.error_code import ErrorCode
from redis.exceptions import ConnectionError as RedisConnectionError

from dashboard.bullmq import schedulers
from dashboard.bullmq.keys import scheduler_job_id
from dashboard.bullmq.reader import Reader
from dashboard.i18n import N_, Np_, Text
from dashboard.redis_client.connection import Client
from dashboard.redis_client.lua import count_scripts, counting_client
from dashboard.text import quoted
from dashboard.writes import batched

CHUNK = 1000
RETRYABLE = ("failed", "completed")
CLEANABLE = ("completed", "failed", "delayed", "waiting", "prioritized", "paused")
# The names BullMQ's clean script uses for a state's key.
_CLEAN_SET = {"waiting": "wait"}
# removeJob's answer for a job scheduler's pending job, which only removing the scheduler removes.
SCHEDULER_JOB = -8


# What a selection's action applies to: (which states, past tense, the rule in words).
SELECTED: dict[str, tuple[Callable[[str], bool], str, str]] = {
    "retry": (lambda s: s in RETRYABLE, "Retried", "only failed or completed jobs retry."),
    "promote": (lambda s: s == "delayed", "Promoted", "only delayed jobs can be promoted."),
    "remove": (lambda s: s != "active", "Removed", "a worker holds an active job's lock."),
}


def _listed(job_ids: list[str], most: int = 5) -> str:
    """ "jobs 3, 7 and 9", naming at most `most` ids and counting the rest."""
    named = [job_id if len(job_id) <= 40 else job_id[:40] + "…" for job_id in job_ids[:most]]
    rest = len(job_ids) - len(named)
    if rest:
        named.append(f"{rest:,} more")
    words = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return f"job{'' if len(job_ids) == 1 else 's'} {words}"


def _refusals(refused: list[tuple[str, str | None]]) -> str:
    """ "job 3 is waiting, job 9 no longer exists": grouped by state, gone ones last."""
    by_state: dict[str, list[str]] = {}
    for job_id, state in refused:
        by_state.setdefault(state or "", []).append(job_id)
    parts = []
    for state, ids in sorted(by_state.items(), key=lambda item: item[0] == ""):
        one = len(ids) == 1
        if state:
            parts.append(f"{_listed(ids)} {'is' if one else 'are'} {state}")
        else:
            parts.append(f"{_listed(ids)} no longer exist{'s' if one else ''}")
    return ", ".join(parts)


class ActionRefused(Exception):
    """The action does not apply (409) or the job is gone (404); nothing was changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ActionInterrupted(Exception):
    """The connection to Redis dropped part-way, and Redis's side of it cannot be known for
    sure: the message says what was done before (503, as a retry later may succeed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Outcome:
    message: str
    count: int = 1

    def as_json(self) -> dict[str, object]:
        return {"ok": True, "message": self.message, "count": self.count}


def no_such_job(queue: str, job_id: str) -> Text:
    """The one sentence for a job id a queue does not hold, for the actions and the pages."""
    return N_("Queue %(queue)s has no job with id %(id)s.", queue=quoted(queue), id=quoted(job_id))


def no_such_queue(queue: str) -> Text:
    return N_("There is no queue named %(queue)s under this prefix.", queue=quoted(queue))


@dataclass(frozen=True)
class SelectedOutcome(Outcome):
    """A selection's outcome, with each job its script did not move and why."""

    failed: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, object]:
        failed = [{"id": job_id, "reason": why} for job_id, why in self.failed]
        return {**super().as_json(), "failed": failed}


# Job.retry's options on the job page and its row button: attempts start again from zero.
RESET = {"resetAttemptsMade": True, "resetAttemptsStarted": True}


def _retry(job: Job, state: str) -> Callable[[Any], Awaitable[Any]]:
    return lambda scripts: scripts.reprocessJob(job, state, RESET)


def _promote(job_id: str) -> Callable[[Any], Awaitable[Any]]:
    return lambda scripts: scripts.promote(job_id)


def _remove(job_id: str) -> Callable[[Any], Awaitable[Any]]:
    # Queue.remove's default, as the row's Remove button: the job's children go with it.
    return lambda scripts: scripts.remove(job_id, True)


def _failure(action: str, state: str, answer: Any) -> str | None:
    """Why a job's script left it alone, in a few words; None when it did its work. The
    scripts answer a negative code (BullMQ's ErrorCode) where the package would raise."""
    if isinstance(answer, Exception):
        return f"Redis answered {quoted(str(answer))}"
    if action == "remove":
        if answer == 1:
            return None
        if answer == SCHEDULER_JOB:
            return "a job scheduler's next job; remove the scheduler instead"
        return "a worker holds its lock"
    if not isinstance(answer, int) or answer >= 0:
        return None
    if answer == ErrorCode.JobNotExist.value:
        return "no longer exists"
    if answer == ErrorCode.JobNotInState.value:
        return f"no longer {state}"
    return f"BullMQ error code {answer}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


async def in_chunks(
    step: Callable[[], Awaitable[int]], verbs: tuple[str, str], total: int, state: str
) -> None:
    """Run a bulk move one script call at a time until it says nothing is left. Each call moves
    CHUNK jobs, or the last few, and is safe to send again (it moves whatever is still there),
    so one whose connection dropped is sent again (connection.resending). If Redis stays out of
    reach, the answer says how far it got; the call in flight may have run too: "at least"."""
    done = 0
    try:
        while await step():
            done += CHUNK
    except RedisConnectionError:
        past, verb = verbs
        raise ActionInterrupted(
            f"{past} at least {done:,} of {plural(total, f'{state} job')} before the connection "
            f"to Redis was lost; run it again to {verb} the rest."
        ) from None


class Actions:
    def __init__(self, redis: Client, prefix: str, reader: Reader) -> None:
        self.redis = redis
        self.prefix = prefix
        self.reader = reader
        self._queues: dict[str, Queue] = {}
        # What the `bullmq` package sends is counted as Redis counts it, scripts' insides too.
        self._counted = counting_client(redis)

    def bull_queue(self, name: str) -> Queue:
        """One bullmq Queue per queue name, sharing the dashboard's Redis connection pool (and
        dashboard.writes.manage's writes)."""
        if name not in self._queues:
            queue = Queue(name, {"connection": self._counted, "prefix": self.prefix})
            count_scripts(queue.redisConnection.commands)
            self._queues[name] = queue
        return self._queues[name]

    async def state_of(self, queue: str, job_id: str) -> str:
        """The job's state; ActionRefused (404) when there is no such job."""
        state = await self.reader.job_state(queue, job_id)
        if state is None:
            raise ActionRefused(404, no_such_job(queue, job_id))
        return state

    async def retry_job(self, queue: str, job_id: str) -> Outcome:
        state = await self.state_of(queue, job_id)
        if state not in RETRYABLE:
            raise ActionRefused(
                409,
                N_(
                    "Job %(id)s is %(state)s; only failed or completed jobs retry.",
                    id=job_id,
                    state=state,
                ),
            )
        job = await Job.fromId(self.bull_queue(queue), job_id)
        await job.retry(state, RESET)
        return Outcome(
            N_("Job %(id)s moved from %(state)s back to waiting.", id=job_id, state=state)
        )

    async def promote_job(self, queue: str, job_id: str) -> Outcome:
        state = await self.state_of(queue, job_id)
        if state != "delayed":
            raise ActionRefused(
                409,
                N_(
                    "Job %(id)s is %(state)s; only delayed jobs can be promoted.",
                    id=job_id,
                    state=state,
                ),
            )
        await self.bull_queue(queue).scripts.promote(job_id)
        return Outcome(N_("Job %(id)s promoted: it runs as soon as a worker is free.", id=job_id))

    async def remove_job(self, queue: str, job_id: str) -> Outcome:
        state = await self.state_of(queue, job_id)
        if state == "active":
            raise ActionRefused(
                409,
                N_(
                    "Job %(id)s is active: a worker holds its lock, so it cannot be removed.",
                    id=job_id,
                ),
            )
        removed = await self.bull_queue(queue).remove(job_id)
        if not removed:
            raise ActionRefused(
                409,
                N_("Job %(id)s is locked by a worker right now; it was not removed.", id=job_id),
            )
        return Outcome(N_("Job %(id)s removed (it was %(state)s).", id=job_id, state=state))

    async def act_on_selected(self, queue: str, action: str, job_ids: list[str]) -> Outcome:
        """Retry, promote or remove the jobs a user ticked on one page, in two round trips
        whatever their number. Every job's state is read first, in one: if any job is gone or
        in a state the action does not apply to, all are refused (409) and nothing is written,
        as the selection no longer matches what the user saw. Then every job's BullMQ script
        call (the one its own button makes) goes out on one pipeline (writes/batched.py); a job
        that changed state in between is left alone by its script, and the answer names it and
        says why."""
        if action not in SELECTED:
            raise ActionRefused(
                400, f"action must be one of {', '.join(SELECTED)}; got {quoted(action)}."
            )
        allowed, past, rule = SELECTED[action]
        ids = list(dict.fromkeys(job_ids))
        states, opts = await self.reader.selection_states(
            queue, ids, active=action == "remove", field="opts" if action == "retry" else None
        )
        refused = [
            job_id for job_id, state in states.items() if state is None or not allowed(state)
        ]
        if refused:
            # Only now are the lists probed, to name the states of the jobs refused.
            named = await self.reader.job_states(queue, refused)
            raise ActionRefused(
                409,
                f"Nothing was {past.lower()}: {_refusals(list(named.items()))}; {rule} "
                f"Reload the page and select again.",
            )
        bull_queue = self.bull_queue(queue)
        calls = []
        for job_id in ids:
            state = states[job_id] or ""
            if action == "retry":
                # What Job.fromId would read of the job for Job.retry: its options (lifo).
                job = Job.fromJSON(bull_queue, {"opts": opts[job_id] or "{}"}, job_id)
                step = _retry(job, state)
            elif action == "promote":
                step = _promote(job_id)
            else:
                step = _remove(job_id)
            calls.append(await batched.record(bull_queue.scripts, step))
        answers = await batched.send(self._counted, calls)
        failed = [
            (job_id, why)
            for job_id, answer in zip(ids, answers, strict=True)
            if (why := _failure(action, states[job_id] or "", answer)) is not None
        ]
        done = len(ids) - len(failed)
        message = f"{past} {plural(done, 'selected job')}."
        if failed:
            by_reason: dict[str, list[str]] = {}
            for job_id, why in failed:
                by_reason.setdefault(why, []).append(job_id)
            reasons = "; ".join(f"{_listed(group)}: {why}" for why, group in by_reason.items())
            message = (
                f"{past} {done:,} of {plural(len(ids), 'selected job')}; "
                f"not {past.lower()} (changed meanwhile): {reasons}."
            )
        return SelectedOutcome(message, done, tuple(failed))

    async def retry_all(self, queue: str, state: str) -> Outcome:
        """Move every job that finished in `state` before now back to wait, CHUNK at a time."""
        if state not in RETRYABLE:
            raise ActionRefused(
                400, f"status must be failed or completed to retry; got {quoted(state)}."
            )
        now = int(time.time() * 1000)
        key = self.reader.keys(queue).state(state)
        before = await self.redis.zcount(key, "-inf", now)
        scripts = self.bull_queue(queue).scripts
        await in_chunks(
            lambda: scripts.retryJobs(state, CHUNK, now), ("Retried", "retry"), before, state
        )
        moved = before - await self.redis.zcount(key, "-inf", now)
        return Outcome(
            Np_(
                "Retried %(count)s %(state)s job.",
                "Retried %(count)s %(state)s jobs.",
                moved,
                state=state,
            ),
            moved,
        )

    async def promote_all(self, queue: str) -> Outcome:
        key = self.reader.keys(queue).state("delayed")
        before = await self.redis.zcard(key)
        scripts = self.bull_queue(queue).scripts
        await in_chunks(
            lambda: scripts.promoteJobs(CHUNK), ("Promoted", "promote"), before, "delayed"
        )
        moved = before - await self.redis.zcard(key)
        return Outcome(
            Np_("Promoted %(count)s delayed job.", "Promoted %(count)s delayed jobs.", moved), moved
        )

    async def clean(self, queue: str, state: str, grace_ms: int, limit: int | None) -> Outcome:
        """Remove jobs older than the grace period from one state, CHUNK per script call."""
        if state not in CLEANABLE:
            raise ActionRefused(
                400, f"status must be one of {', '.join(CLEANABLE)} to clean; got {quoted(state)}."
            )
        scripts = self.bull_queue(queue).scripts
        removed = 0
        while limit is None or removed < limit:
            batch = CHUNK if limit is None else min(CHUNK, limit - removed)
            try:
                ids = await scripts.cleanJobsInSet(_CLEAN_SET.get(state, state), grace_ms, batch)
            except RedisConnectionError:
                raise ActionInterrupted(
                    f"Cleaned {plural(removed, f'{state} job')} before the connection to Redis "
                    "was lost; run it again to clean the rest."
                ) from None
            removed += len(ids)
            if len(ids) < batch:
                break
        return Outcome(
            Np_(
                "Cleaned %(count)s %(state)s job.",
                "Cleaned %(count)s %(state)s jobs.",
                removed,
                state=state,
            ),
            removed,
        )

    async def pause(self, queue: str) -> Outcome:
        await self.bull_queue(queue).pause()
        return Outcome(N_("Queue %(queue)s paused: workers take no new jobs from it.", queue=queue))

    async def resume(self, queue: str) -> Outcome:
        await self.bull_queue(queue).resume()
        return Outcome(N_("Queue %(queue)s resumed.", queue=queue))

    async def run_scheduler(self, queue: str, scheduler_id: str) -> Outcome:
        """Promote the scheduler's pending delayed job; the next one is made when it is taken."""
        next_ms = await self._scheduler_next(queue, scheduler_id)
        job_id = scheduler_job_id(scheduler_id, next_ms)
        await self.promote_job(queue, job_id)
        return Outcome(
            f"Scheduler {scheduler_id}: its job {job_id} runs as soon as a worker is free."
        )

    async def remove_scheduler(self, queue: str, scheduler_id: str) -> Outcome:
        """BullMQ's removeJobScheduler script: the scheduler, its hash and its pending job. It
        removes BullMQ 5's repeatable jobs too, whose pending job ids follow the same rule."""
        await self._scheduler_next(queue, scheduler_id)
        if await self.bull_queue(queue).removeJobScheduler(scheduler_id) != 0:
            raise ActionRefused(
                404,
                N_(
                    "Queue %(queue)s has no scheduler %(id)s.",
                    queue=quoted(queue),
                    id=quoted(scheduler_id),
                ),
            )
        return Outcome(N_("Scheduler %(id)s removed, with its pending job.", id=scheduler_id))

    async def _scheduler_next(self, queue: str, scheduler_id: str) -> int:
        keys = self.reader.keys(queue)
        next_ms, key_only = await schedulers.next_run(self.redis, keys, scheduler_id)
        if next_ms is None:
            raise ActionRefused(
                404,
                N_(
                    "Queue %(queue)s has no scheduler %(id)s.",
                    queue=quoted(queue),
                    id=quoted(scheduler_id),
                ),
            )
        if key_only:
            raise ActionRefused(
                409,
                f"Scheduler {quoted(scheduler_id)} was written by BullMQ 3 or older, whose job ids "
                "Drainboard cannot derive; remove it with Node's removeRepeatableByKey.",
            )
        return next_ms
