"""The shared drain engine: process what is queued now, then stop. No polling in between.

One engine serves the cron endpoint, `drainboard drain` and the "Drain now" button:

1. Probe which queues have work (dashboard/drain/probe.py): one `EXISTS` over every queue's
   keys when all are empty; with delayed or repeatable jobs not yet due, a `GET` of the probe's
   notes and one `XREAD` over the events streams tell that nothing changed and nothing is due.
   A non-empty active list may hold a dead drain's jobs.
2. Only for queues with work: recover stalled jobs (BullMQ's own stalled check), then run a
   `bullmq` Worker's job cycle (moveToActive, the processor, moveToFinished, lock renewal)
   without its blocking wait, until the queue reports no job, the time is up, or the job cap is
   reached. Attempts, backoff, removeOnComplete/Fail, events, parents and rate limits are all
   BullMQ's scripts' doing. Completing a job, the step every job takes, calls BullMQ's script
   with little Python around it (drain/finish.py).
3. Jobs still running when `maxDurationMs` is reached are abandoned, as the cron endpoint's
   contract says: their lock is no longer renewed, and BullMQ's stalled check puts them back in
   wait on a later tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bullmq import Job, Worker
from bullmq.custom_errors import DelayedError, WaitingChildrenError

from dashboard.bullmq.keys import QueueKeys, drain_history_key, last_idle_drain_key
from dashboard.drain import probe as drain_probe
from dashboard.drain.busy_poll import Polls
from dashboard.drain.finish import Finisher
from dashboard.drain.job import DrainJob, slot_token, thin_job
from dashboard.drain.processors import Processor
from dashboard.drain.relay import Relay
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute
from dashboard.redis_client.lua import count_scripts, counting_client

ProgressHook = Callable[[str, "QueueRun"], None]

DEFAULT_MAX_DURATION_MS = 60_000
MAX_DURATION_MS = 600_000
DEFAULT_MAX_CONCURRENT_QUEUES = 2
HISTORY_LENGTH = 50
# A drained job's lock; renewed while it runs, so it only bounds how long a crashed drain's job
# waits before a later drain may take it back.
LOCK_DURATION_MS = 30_000
STALLED_CHECK_MS = 5


@dataclass(frozen=True)
class DrainOptions:
    queues: tuple[str, ...]
    max_duration_ms: int = DEFAULT_MAX_DURATION_MS
    max_concurrent_queues: int = DEFAULT_MAX_CONCURRENT_QUEUES
    max_jobs_per_queue: int | None = None
    concurrency: int = 1
    lock_duration_ms: int = LOCK_DURATION_MS
    trigger: str = "api"
    # When set, BullMQ records per-minute completed/failed metrics, keeping this many points.
    metrics_max_data_points: int | None = None


@dataclass
class QueueRun:
    jobs_processed: int = 0
    jobs_failed: int = 0
    idle_at: int = 0
    skipped: str | None = None
    stopped: str | None = None
    # Jobs whose lock lapsed while their handler ran (it blocked past lockDuration): BullMQ's
    # stalled check puts them back in wait; this drain neither completed nor failed them.
    lost_locks: int = 0
    # Jobs BullMQ's stalled check, run as the drain began, found stalled (for the alert rules).
    stalled: int = 0

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "jobsProcessed": self.jobs_processed,
            "jobsFailed": self.jobs_failed,
            "idleAt": self.idle_at,
        }
        if self.skipped:
            answer["skipped"] = self.skipped
        if self.stopped:
            answer["stoppedBy"] = self.stopped
        if self.lost_locks:
            answer["lostLocks"] = self.lost_locks
        return answer


@dataclass
class DrainResult:
    started_ms: int
    duration_ms: int
    queues: dict[str, QueueRun] = field(default_factory=dict)
    trigger: str = "api"
    # Each probed queue as last seen: by the probe, or for a drained queue as the drain left it.
    seen: dict[str, drain_probe.Seen] = field(default_factory=dict)

    @property
    def total_processed(self) -> int:
        return sum(run.jobs_processed for run in self.queues.values())

    @property
    def total_failed(self) -> int:
        return sum(run.jobs_failed for run in self.queues.values())

    @property
    def total_lost_locks(self) -> int:
        return sum(run.lost_locks for run in self.queues.values())

    def as_json(self) -> dict[str, Any]:
        """The cron endpoint's answer: `ok`, `durationMs`, `totalProcessed`, `totalFailed` and
        each queue's run, with `skipped`/`stoppedBy` where they apply."""
        return {
            "ok": True,
            "durationMs": self.duration_ms,
            "totalProcessed": self.total_processed,
            "totalFailed": self.total_failed,
            "queues": {name: run.as_json() for name, run in self.queues.items()},
        }


NO_PROCESSOR = "no processor registered"


class JobBudget:
    """How many more jobs a queue may take: bounded by maxJobsPerQueue and the deadline."""

    def __init__(
        self, max_jobs: int | None, deadline: float, run: QueueRun, engine: DrainEngine
    ) -> None:
        self.left = max_jobs
        self.deadline = deadline
        self.run = run
        self.engine = engine

    def take(self) -> bool:
        if self.engine.stopping:
            self.run.stopped = "shutdown"
            return False
        if self.left is not None and self.left <= 0:
            self.run.stopped = "maxJobsPerQueue"
            return False
        if time.monotonic() >= self.deadline:
            self.run.stopped = "maxDurationMs"
            return False
        if self.left is not None:
            self.left -= 1
        return True

    def give_back(self) -> None:
        if self.left is not None:
            self.left += 1


# How the bullmq package reports that a job is no longer ours to finish (scripts.finishedErrors):
# its lock lapsed and a stalled check, or another drain, has it now; or it was removed meanwhile.
LOST_JOB_ERRORS = ("Missing lock for job", "Missing key for job", "is not in the active state")


def _lost_lock(error: TypeError, run: QueueRun) -> None:
    """A lost job costs only itself: counted, left to BullMQ's stalled check; the drain goes on."""
    if not any(text in str(error) for text in LOST_JOB_ERRORS):
        raise error
    run.lost_locks += 1


async def _next_job(worker: Worker, taken: list[Any] | None, token: str) -> DrainJob | Job | None:
    """The job BullMQ's moveToActive or moveToFinished handed over, as the handler gets it.

    A job made by a job scheduler or a repeatable job goes through the bullmq Worker, which
    schedules the next iteration through its scripts; any other job is a thin DrainJob."""
    thin = thin_job(worker, taken, token)
    if thin is not None:
        return thin
    data, job_id, limit_until, delay_until = taken or (None,) * 4
    return await worker.nextJobFromJobData(data, job_id, limit_until or 0, delay_until or 0, token)


def metrics_option(max_data_points: int | None) -> dict[str, Any]:
    """bullmq Worker options that make its finishing script record per-minute metrics."""
    return {"metrics": {"maxDataPoints": max_data_points}} if max_data_points else {}


class DrainEngine:
    def __init__(
        self,
        redis: Client,
        prefix: str,
        processors: dict[str, Processor],
        progress: ProgressHook | None = None,
        busy_poll: bool = False,
    ) -> None:
        self.redis = redis
        # What a drain sends is counted as Redis counts it, scripts' insides too: in the figure
        # of the request that drains (the cron endpoint's, Drain now's) and for /metrics.
        self.counted = counting_client(redis)
        self.prefix = prefix
        self.processors = processors
        self.progress = progress
        # The CLI's: at concurrency 1, answers read by polling the socket (drain/busy_poll.py).
        self.polls = Polls(busy_poll)
        # Set on shutdown: running jobs finish, no new one is taken.
        self.stopping = False
        # Told of every finished drain (the Prometheus exporter counts them in memory).
        self.observers: list[Callable[[DrainResult], None]] = []

    async def probe(self, queues: list[str]) -> drain_probe.Probe:
        """The queues that have work now, and those a pause holds (dashboard/drain/probe.py):
        one EXISTS when every queue is empty, three commands when idle queues hold delayed or
        repeatable jobs."""
        return await drain_probe.probe(self.counted, self.prefix, queues, int(time.time() * 1000))

    async def drain(self, options: DrainOptions) -> DrainResult:
        started = time.monotonic()
        started_ms = int(time.time() * 1000)
        deadline = started + options.max_duration_ms / 1000
        runs = {queue: QueueRun() for queue in options.queues}
        for queue in options.queues:
            if queue not in self.processors:
                runs[queue].skipped = NO_PROCESSOR
        candidates = [q for q in options.queues if not runs[q].skipped]
        found = await self.probe(candidates)
        for queue in found.held:
            runs[queue].skipped = "paused"
        busy = found.busy

        gate = asyncio.Semaphore(max(1, options.max_concurrent_queues))

        async def one(queue: str) -> None:
            async with gate:
                await self._drain_queue(queue, runs[queue], options, started, deadline)

        await asyncio.gather(*(one(queue) for queue in busy))
        # What this drain left behind, noted now: the next tick need not look at these queues.
        still = await drain_probe.note_drained(self.counted, self.prefix, busy)
        seen = dict(found.seen)
        for queue in busy:
            before = seen.get(queue)
            paused = before.paused if before else None
            # Emptied: its waiting and prioritized jobs were taken; otherwise not known.
            left = None if queue in still else 0
            seen[queue] = drain_probe.Seen(left, left, paused, None)
        result = DrainResult(
            started_ms=started_ms,
            duration_ms=int((time.monotonic() - started) * 1000),
            queues=runs,
            trigger=options.trigger,
            seen=seen,
        )
        await self._record(result, idle=not busy)
        for observe in self.observers:
            observe(result)
        return result

    async def _drain_queue(
        self, queue: str, run: QueueRun, options: DrainOptions, started: float, deadline: float
    ) -> None:
        worker = Worker(
            queue,
            None,
            {
                "connection": self.counted,
                "prefix": self.prefix,
                "autorun": False,
                "concurrency": options.concurrency,
                "lockDuration": options.lock_duration_ms,
                **metrics_option(options.metrics_max_data_points),
            },
        )
        count_scripts(worker.scripts.commands)
        run.stalled = await self._recover_stalled(worker)
        worker.lockManager.start()
        budget = JobBudget(options.max_jobs_per_queue, deadline, run, self)

        # One line of completions per queue this drain may run at once.
        finisher = Finisher(worker, self.counted, max(1, options.max_concurrent_queues), self.polls)
        # At concurrency 1, on a connection kept from job to job, each answer runs the next
        # job's handler at once (drain/relay.py).
        relay = None
        if options.concurrency == 1 and finisher.hold:
            relay = Relay(
                finisher,
                worker,
                self.processors[queue],
                budget.take,
                lambda: self._count(queue, run, failed=False),
            )

        async def slot(number: int) -> None:
            token = slot_token(worker, number)
            job: DrainJob | Job | None = None
            started = None  # the job's handler, when the relay started it
            while True:
                if job is None:
                    if not budget.take():
                        return
                    taken = await worker.backend.moveToActive(token, worker.opts)
                    job = await _next_job(worker, taken, token)
                    if job is None:
                        budget.give_back()
                        wait_s = (worker.limitUntil - time.time() * 1000) / 1000
                        if worker.limitUntil and 0 < wait_s < deadline - time.monotonic():
                            await asyncio.sleep(wait_s)  # rate limited: wait out the window
                            continue
                        return
                job, started = await self._run_job(
                    worker, queue, job, token, run, budget, finisher, relay, started
                )

        if relay is not None:
            slots = [relay.start(slot(0))]
            self.polls.relays += 1
        else:
            slots = [asyncio.ensure_future(slot(n)) for n in range(options.concurrency)]
        remaining = deadline - time.monotonic()
        try:
            done, pending = await asyncio.wait(slots, timeout=max(remaining, 0))
            if pending:
                # Past maxDurationMs: abandon the running jobs. Their locks lapse and a later
                # drain's stalled check returns them to wait (the contract's caveat). They are
                # cancelled below.
                run.stopped = "maxDurationMs"
            else:
                run.idle_at = max(1, int((time.monotonic() - started) * 1000))
        finally:
            # Past the deadline, or cancelled from outside (a shutdown): the slots would run on
            # and could take a connection after the finisher gave its own back. They stop first.
            if relay is not None:
                self.polls.relays -= 1
            for task in slots:
                task.cancel()
            await asyncio.gather(*slots, return_exceptions=True)
            await finisher.close()
        await worker.lockManager.close()
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _run_job(
        self,
        worker: Worker,
        queue: str,
        job: DrainJob | Job,
        token: str,
        run: QueueRun,
        budget: JobBudget,
        finisher: Finisher,
        relay: Relay | None = None,
        started: Awaitable[Any] | None = None,
    ) -> tuple[DrainJob | Job | None, Awaitable[Any] | None]:
        """The bullmq Worker's job cycle (lock tracking, moveToCompleted, moveToFailed with the
        job's attempts and backoff), except that completing a job also fetches the next one in
        the same script call, as Node BullMQ's worker does: one round trip per job, not two.
        Returns the next job, and its handler when the relay started it (`started`, awaited
        instead of calling the handler); with the relay, the jobs it ran meanwhile are done."""
        worker.lockManager.track_job(job.id, token, int(time.time() * 1000))
        try:
            try:
                result = await (self.processors[queue](job) if started is None else started)
            except (DelayedError, WaitingChildrenError):
                return None, None
            except Exception as err:
                try:
                    await job.moveToFailed(err, token)
                except TypeError as finish_error:
                    _lost_lock(finish_error, run)
                    return None, None
                self._count(queue, run, failed=True)
                return None, None
            fetch_next = budget.take()
            try:
                if relay is None:
                    taken = await finisher.complete(job, result, token, fetch_next)
                else:
                    stop = await relay.complete(job, result, fetch_next)
                    if stop.started is not None:
                        return stop.job, stop.started
                    job, fetch_next = stop.job, stop.fetch_next
                    taken = await finisher.settle(job, stop.command, stop.reply)
            except TypeError as finish_error:
                if fetch_next:
                    budget.give_back()
                _lost_lock(finish_error, run)
                return None, None
            self._count(queue, run, failed=False)
            next_job = None
            if fetch_next:
                next_job = thin_job(worker, taken, token)  # the usual case, without a coroutine
                if next_job is None:
                    next_job = await _next_job(worker, taken, token)
                if next_job is None:
                    budget.give_back()
            return next_job, None
        finally:
            worker.lockManager.untrack_job(job.id)

    async def _recover_stalled(self, worker: Worker) -> int:
        """BullMQ's stalled check, twice: the first marks the active jobs, the second moves those
        whose lock has lapsed back to wait (or to failed past maxStalledCount). A short check
        interval lets both run now; an always-on worker's longer throttle, if any, still wins.
        Returns how many jobs it found stalled."""
        if not await self.counted.llen(QueueKeys(self.prefix, worker.name).state("active")):
            return 0
        stalled = 0
        for _ in range(2):
            found = await worker.backend.moveStalledJobsToWait(
                worker.opts["maxStalledCount"], STALLED_CHECK_MS
            )
            stalled += len(found or [])
            await asyncio.sleep(STALLED_CHECK_MS / 1000 * 2)
        return stalled

    def _count(self, queue: str, run: QueueRun, failed: bool) -> None:
        run.jobs_processed += 1
        if failed:
            run.jobs_failed += 1
        if self.progress:
            self.progress(queue, run)

    async def _record(self, result: DrainResult, idle: bool) -> None:
        """Runs that found work go in the capped history list. An idle tick only overwrites
        one "last idle check" key: a 1-minute cron would otherwise push every real run out of
        the 50, and each idle tick costs one command instead of two."""
        entry = json.dumps(
            {"at": result.started_ms, "trigger": result.trigger, **result.as_json()},
            separators=(",", ":"),
        )
        if idle:
            await self.counted.set(last_idle_drain_key(self.prefix), entry)
            return
        pipe = self.counted.pipeline(transaction=False)
        pipe.lpush(drain_history_key(self.prefix), entry)
        pipe.ltrim(drain_history_key(self.prefix), 0, HISTORY_LENGTH - 1)
        await pipe.execute()

    async def history(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The recent runs that found work, newest first, and the last idle check."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.lrange(drain_history_key(self.prefix), 0, HISTORY_LENGTH - 1)
        pipe.get(last_idle_drain_key(self.prefix))
        entries, idle = await execute(pipe)
        runs = []
        for raw in entries:
            with contextlib.suppress(ValueError):
                runs.append(json.loads(raw))
        last_idle = None
        with contextlib.suppress(TypeError, ValueError):
            last_idle = json.loads(idle)
        return runs, last_idle
