"""Adding and editing jobs, and queue-wide changes, all through the `bullmq` package.

Inputs arrive here already parsed from JSON; this module checks them against what BullMQ
accepts and refuses with ActionRefused (400 for a bad value, 404 for a missing job, 409 for a
job or queue in the wrong state) before anything is written.

What the Python `bullmq` 3.4 offers: Queue.add, Job.updateData, Job.changePriority,
Queue.drain, Queue.obliterate, Queue.pause/resume, Queue.setGlobalConcurrency and
Queue.setGlobalRateLimit (and their remove* counterparts). It has no Job.changeDelay, so that one
runs the package's own `changeDelay` script (the same Lua as Node's) with Node's keys.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bullmq import Job
from bullmq.redis_connection import loadScript
from redis.exceptions import ConnectionError as RedisConnectionError

from dashboard.bullmq.keys import is_job_id
from dashboard.i18n import N_, Np_
from dashboard.redis_client.connection import sent_once
from dashboard.text import quoted
from dashboard.writes.actions import (
    ActionInterrupted,
    ActionRefused,
    Actions,
    Outcome,
    no_such_job,
)

# Job options a person may set when adding a job, and what each must be.
OPTION_NAMES = (
    "delay",
    "priority",
    "attempts",
    "backoff",
    "jobId",
    "removeOnComplete",
    "removeOnFail",
    "lifo",
)
# Shipped in the package (the same Lua as Node's) but not registered by its Python side.
_CHANGE_DELAY = loadScript("changeDelay-4.lua")
MAX_PRIORITY = 2_097_152  # BullMQ's own upper bound
# Node reads job fields as JavaScript numbers: past this, what it reads is not what was written.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_NAME = 1_000
EDITABLE = ("waiting", "prioritized", "delayed", "failed", "waiting-children")
QUEUED = ("waiting", "prioritized", "paused")


@dataclass(frozen=True)
class JobOutcome(Outcome):
    job_id: str = ""

    def as_json(self) -> dict[str, object]:
        return {**super().as_json(), "id": self.job_id}


def _refuse(message: str) -> ActionRefused:
    return ActionRefused(400, message)


def _whole(name: str, value: Any, low: int, high: int = MAX_SAFE_INTEGER) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(f"{name} must be a whole number; got {quoted(value, 40)}.")
    if not low <= value <= high:
        raise _refuse(f"{name} must be between {low:,} and {high:,}.")
    return value


def _keep(name: str, value: Any) -> bool | int | dict[str, int]:
    """removeOnComplete / removeOnFail: true, false, a count, or {age, count}."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _whole(name, value, 0)
    if isinstance(value, dict) and value and set(value) <= {"age", "count"}:
        return {k: _whole(f"{name}.{k}", v, 0) for k, v in value.items()}
    raise _refuse(f"{name} must be true, false, a number of jobs, or {{age, count}}.")


def _backoff(value: Any) -> int | dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return _whole("backoff", value, 0)
    if isinstance(value, dict) and value.get("type") in ("fixed", "exponential"):
        extra = set(value) - {"type", "delay", "jitter"}
        if extra:
            raise _refuse(f"backoff has an unknown field {quoted(sorted(extra)[0])}.")
        checked: dict[str, Any] = {"type": value["type"]}
        if "delay" in value:
            checked["delay"] = _whole("backoff.delay", value["delay"], 0)
        if "jitter" in value:
            jitter = value["jitter"]
            if (
                isinstance(jitter, bool)
                or not isinstance(jitter, int | float)
                or not 0 <= jitter <= 1
            ):
                raise _refuse("backoff.jitter must be a number from 0 to 1.")
            checked["jitter"] = jitter
        return checked
    raise _refuse('backoff must be a number of ms or {"type": "fixed"|"exponential", "delay": ms}.')


def _job_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse("jobId must be a non-empty string.")
    if str(value).lstrip("-").isdigit():
        raise _refuse("jobId cannot be a whole number: BullMQ keeps those for its own ids.")
    if ":" in value:
        raise _refuse("jobId cannot contain ':'.")
    if not is_job_id(value):
        raise _refuse(f"jobId {quoted(value)} would name one of the queue's own keys.")
    if len(value) > MAX_NAME:
        raise _refuse(f"jobId must be at most {MAX_NAME:,} characters long.")
    return value


def check_options(opts: Any) -> dict[str, Any]:
    """The options of a new job, each checked; anything else is refused by name."""
    if opts is None:
        return {}
    if not isinstance(opts, dict):
        raise _refuse("opts must be a JSON object.")
    unknown = [key for key in opts if key not in OPTION_NAMES]
    if unknown:
        raise _refuse(
            f"opts has an unknown option {quoted(unknown[0])}; known: {', '.join(OPTION_NAMES)}."
        )
    checked: dict[str, Any] = {}
    for key, value in opts.items():
        if value is None:
            continue
        if key == "delay":
            checked[key] = _whole("delay", value, 0)
        elif key == "priority":
            checked[key] = _whole("priority", value, 0, MAX_PRIORITY)
        elif key == "attempts":
            checked[key] = _whole("attempts", value, 0, 1_000_000)  # 0 means 1, as in BullMQ
        elif key == "backoff":
            checked[key] = _backoff(value)
        elif key == "jobId":
            checked[key] = _job_id(value)
        elif key == "lifo":
            if not isinstance(value, bool):
                raise _refuse("lifo must be true or false.")
            checked[key] = value
        else:
            checked[key] = _keep(key, value)
    return checked


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _refuse("name must be a non-empty string, the job's name.")
    if len(name) > MAX_NAME:
        raise _refuse(f"name must be at most {MAX_NAME:,} characters long.")
    return name


def copyable_options(opts: dict[str, Any]) -> dict[str, Any]:
    """A job's options a copy of it takes: those the add form knows, but never its id."""
    return {k: v for k, v in opts.items() if k in OPTION_NAMES and k != "jobId"}


class Manager:
    """Job edits and queue-wide actions; shares the Actions' bullmq Queues and state probes."""

    def __init__(self, actions: Actions) -> None:
        self.actions = actions
        self.reader = actions.reader

    async def add_job(self, queue: str, name: Any, data: Any, opts: Any) -> JobOutcome:
        name, opts = check_name(name), check_options(opts)
        if "jobId" in opts and await self.reader.job_state(queue, opts["jobId"]) is not None:
            raise ActionRefused(
                409,
                N_(
                    "Queue %(queue)s already has a job with id %(id)s; none was added.",
                    queue=quoted(queue),
                    id=quoted(opts["jobId"]),
                ),
            )
        try:
            with sent_once():
                job = await self.actions.bull_queue(queue).add(name, data, opts)
        except RedisConnectionError:
            raise ActionInterrupted(
                N_(
                    "The connection to Redis was lost while adding the job to %(queue)s: it may "
                    "have been stored. Look in the queue before adding it again.",
                    queue=queue,
                )
            ) from None
        added = (
            N_(
                "Added job %(id)s (%(name)s) to %(queue)s, delayed.",
                id=str(job.id),
                name=name,
                queue=queue,
            )
            if opts.get("delay")
            else N_(
                "Added job %(id)s (%(name)s) to %(queue)s, waiting.",
                id=str(job.id),
                name=name,
                queue=queue,
            )
        )
        return JobOutcome(added, 1, str(job.id))

    async def duplicate_job(self, queue: str, job_id: str) -> JobOutcome:
        job = await self.reader.job(queue, job_id, redacted=False)  # copied, never shown
        if job is None:
            raise ActionRefused(404, no_such_job(queue, job_id))
        copy = await self.add_job(queue, job["name"], job["data"], copyable_options(job["opts"]))
        return JobOutcome(
            N_("Duplicated job %(id)s as job %(copy)s.", id=job_id, copy=copy.job_id),
            1,
            copy.job_id,
        )

    async def update_data(self, queue: str, job_id: str, data: Any) -> JobOutcome:
        state = await self.actions.state_of(queue, job_id)
        if state not in EDITABLE:
            raise ActionRefused(
                409,
                N_(
                    "Job %(id)s is %(state)s; only %(editable)s jobs can be edited.",
                    id=job_id,
                    state=state,
                    editable=", ".join(EDITABLE),
                ),
            )
        job = Job(self.actions.bull_queue(queue), "", None, {}, job_id)
        await job.updateData(data)
        return JobOutcome(N_("Saved the data of job %(id)s.", id=job_id), 1, job_id)

    async def change_priority(self, queue: str, job_id: str, priority: Any) -> JobOutcome:
        priority = _whole("priority", priority, 0, MAX_PRIORITY)
        state = await self.actions.state_of(queue, job_id)
        if state not in ("waiting", "prioritized"):
            raise ActionRefused(
                409,
                N_(
                    "Job %(id)s is %(state)s; only waiting or prioritized jobs change priority.",
                    id=job_id,
                    state=state,
                ),
            )
        job = Job(self.actions.bull_queue(queue), "", None, {}, job_id)
        await job.changePriority({"priority": priority})
        return JobOutcome(
            N_("Job %(id)s now has priority %(priority)s.", id=job_id, priority=str(priority)),
            1,
            job_id,
        )

    async def change_delay(self, queue: str, job_id: str, delay: Any) -> JobOutcome:
        delay = _whole("delay", delay, 0)
        state = await self.actions.state_of(queue, job_id)
        if state != "delayed":
            raise ActionRefused(
                409,
                N_(
                    "Job %(id)s is %(state)s; only delayed jobs change delay.",
                    id=job_id,
                    state=state,
                ),
            )
        bull = self.actions.bull_queue(queue)
        keys = [bull.keys["delayed"], bull.keys["meta"], bull.keys["marker"], bull.keys["events"]]
        now = int(time.time() * 1000)
        args = [delay, now, job_id, bull.toKey(job_id)]
        code = await bull.client.register_script(_CHANGE_DELAY)(keys=keys, args=args)
        if code != 0:
            raise ActionRefused(
                409, N_("Job %(id)s left the delayed set; its delay is unchanged.", id=job_id)
            )
        return JobOutcome(
            N_("Job %(id)s now runs in %(delay)s ms.", id=job_id, delay=delay), 1, job_id
        )

    async def empty(self, queue: str, delayed: bool) -> Outcome:
        """BullMQ's drain: waiting, paused and prioritized jobs, and delayed ones if asked."""
        states = (*QUEUED, "delayed") if delayed else QUEUED
        before = await self._queued(queue, states)
        await self.actions.bull_queue(queue).drain(delayed)
        left = await self._queued(queue, states)
        removed = before - left
        message = (
            Np_(
                "Emptied %(queue)s: removed %(count)s waiting, prioritized and delayed job.",
                "Emptied %(queue)s: removed %(count)s waiting, prioritized and delayed jobs.",
                removed,
                queue=queue,
            )
            if delayed
            else Np_(
                "Emptied %(queue)s: removed %(count)s waiting and prioritized job.",
                "Emptied %(queue)s: removed %(count)s waiting and prioritized jobs.",
                removed,
                queue=queue,
            )
        )
        if left:
            # BullMQ's drain keeps each job scheduler's next job; say so rather than leave a
            # count that does not add up.
            stayed = Np_(
                "%(count)s job stayed: BullMQ's drain keeps each job scheduler's next job (remove "
                "the scheduler to stop it).",
                "%(count)s jobs stayed: BullMQ's drain keeps each job scheduler's next job "
                "(remove the scheduler to stop it).",
                left,
            )
            message = N_("%(emptied)s %(stayed)s", emptied=message, stayed=stayed)
        return Outcome(message, removed)

    async def obliterate(self, queue: str, confirm: str, force: bool) -> Outcome:
        if confirm != queue:
            raise _refuse(f"To obliterate, confirm with the queue's name, {quoted(queue)}.")
        [summary] = await self.reader.summaries([queue])
        if not summary.is_paused:
            raise ActionRefused(409, N_("Pause %(queue)s before obliterating it.", queue=queue))
        active = summary.counts["active"]
        if active and not force:
            raise ActionRefused(
                409,
                Np_(
                    "%(queue)s has %(count)s active job; obliterate with force to remove it too.",
                    "%(queue)s has %(count)s active jobs; obliterate with force to remove them "
                    "too.",
                    active,
                    queue=queue,
                ),
            )
        await self.actions.bull_queue(queue).obliterate(force)
        return Outcome(
            Np_(
                "Obliterated %(queue)s: %(count)s job removed.",
                "Obliterated %(queue)s: %(count)s jobs removed.",
                summary.total,
                queue=queue,
            ),
            summary.total,
        )

    async def pause_all(self, queues: list[str]) -> Outcome:
        summaries = await self.reader.summaries(queues)
        running = [s.name for s in summaries if not s.is_paused]
        for name in running:
            await self.actions.bull_queue(name).pause()
        return Outcome(
            Np_("Paused %(count)s queue.", "Paused %(count)s queues.", len(running)), len(running)
        )

    async def resume_all(self, queues: list[str]) -> Outcome:
        summaries = await self.reader.summaries(queues)
        paused = [s.name for s in summaries if s.is_paused]
        for name in paused:
            await self.actions.bull_queue(name).resume()
        return Outcome(
            Np_("Resumed %(count)s queue.", "Resumed %(count)s queues.", len(paused)), len(paused)
        )

    async def set_concurrency(self, queue: str, value: Any) -> Outcome:
        value = _whole("concurrency", value, 0)
        bull = self.actions.bull_queue(queue)
        if value == 0:
            await bull.removeGlobalConcurrency()
            return Outcome(N_("%(queue)s has no global concurrency limit now.", queue=queue))
        await bull.setGlobalConcurrency(value)
        return Outcome(
            Np_(
                "At most %(count)s job of %(queue)s runs at once, across workers.",
                "At most %(count)s jobs of %(queue)s run at once, across workers.",
                value,
                queue=queue,
            )
        )

    async def set_rate_limit(self, queue: str, max_jobs: Any, duration_ms: Any) -> Outcome:
        max_jobs = _whole("max", max_jobs, 0)
        bull = self.actions.bull_queue(queue)
        if max_jobs == 0:
            await bull.removeGlobalRateLimit()
            return Outcome(N_("%(queue)s has no global rate limit now.", queue=queue))
        if duration_ms is None:
            raise _refuse("duration must come with max: the ms over which max jobs may run.")
        duration_ms = _whole("duration", duration_ms, 1)
        await bull.setGlobalRateLimit(max_jobs, duration_ms)
        return Outcome(
            Np_(
                "%(queue)s runs at most %(count)s job per %(ms)s ms.",
                "%(queue)s runs at most %(count)s jobs per %(ms)s ms.",
                max_jobs,
                queue=queue,
                ms=duration_ms,
            )
        )

    async def _queued(self, queue: str, states: tuple[str, ...]) -> int:
        [summary] = await self.reader.summaries([queue])
        return sum(summary.counts[state] for state in states)
