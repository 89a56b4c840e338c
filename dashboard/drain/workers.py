"""`drainboard worker`: run the registered processors in one of three modes: always-on BullMQ
workers, cron (no worker: drains run from a cron) or on-demand (a worker only while there is work).

- always:    a `bullmq` Worker per queue, blocking on Redis all the time (zero job latency,
             the highest idle cost). SIGTERM lets running jobs finish, then exits.
- cron:      no worker at all; jobs are consumed only by drains (the cron endpoint or
             `drainboard drain`). Idle cost: the drain's probe per tick.
- on-demand: no worker while idle. `await workers.enqueue(...)` adds a job and wakes the queue's
             drain at once; a start-up drain picks up orphaned jobs; the queue's worker closes
             after WORKER_IDLE_TIMEOUT_MS without work. Jobs added by other processes wait for
             the next notification, start-up or drain: schedule the cron drain as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from bullmq import Job, Queue, Worker
from redis.asyncio.connection import parse_url

from dashboard.bullmq.keys import QueueKeys
from dashboard.config import ConfigError
from dashboard.drain.engine import DrainEngine, DrainOptions, metrics_option
from dashboard.drain.probe import DELAY_SCORE_FACTOR
from dashboard.drain.processors import Processor
from dashboard.redis_client.connection import SENTINEL_SCHEME, Client, connect

log = logging.getLogger("drainboard.workers")

MODES = ("always", "cron", "on-demand")
DEFAULT_IDLE_TIMEOUT_MS = 60_000
SHUTDOWN_GRACE_S = 30


def worker_mode(mode: str | None, env: Mapping[str, str]) -> str:
    """`--mode`, else WORKER_MODE, else WORKER_INPROCESS (1 = always, 0 = cron), the older
    variable deployments of the cron endpoint set."""
    chosen = mode or env.get("WORKER_MODE")
    if not chosen and env.get("WORKER_INPROCESS") in ("0", "1"):
        chosen = "always" if env["WORKER_INPROCESS"] == "1" else "cron"
    chosen = chosen or "always"
    if chosen not in MODES:
        raise ConfigError(f"The worker mode must be one of {', '.join(MODES)}; got {chosen!r}.")
    return chosen


def worker_connection(url: str, cluster: bool = False) -> dict[str, Any] | Client:
    """Connection options for a long-lived `bullmq` Worker: no socket timeout, so its blocking
    wait is not cut off and retried (redis-py's default would, several times a minute). On a
    cluster or behind Sentinel, a client of its own (bullmq takes a client, not options, then)."""
    if cluster or url.startswith(SENTINEL_SCHEME):
        return connect(url, socket_timeout=None, cluster=cluster)
    return {**parse_url(url), "socket_timeout": None}


def _bullmq_processor(handler: Processor) -> Any:
    """A `bullmq` Worker calls processor(job, token); ours take the job alone."""

    async def process(job: Job, token: str) -> Any:
        return await handler(job)

    return process


class AlwaysOnWorkers:
    def __init__(
        self,
        redis_url: str,
        prefix: str,
        processors: dict[str, Processor],
        queues: list[str],
        drain_delay_s: float = 5,
        stalled_interval_ms: int = 30_000,
        concurrency: int = 1,
        cluster: bool = False,
        metrics_max_data_points: int | None = None,
    ) -> None:
        self.workers: list[Worker] = []
        for queue in queues:
            if queue not in processors:
                log.info("queue %s has no processor: no worker for it", queue)
                continue
            options = {
                "connection": worker_connection(redis_url, cluster),
                "prefix": prefix,
                "drainDelay": drain_delay_s,
                "stalledInterval": stalled_interval_ms,
                "concurrency": concurrency,
                "name": "drainboard-always",
                **metrics_option(metrics_max_data_points),
            }
            self.workers.append(Worker(queue, _bullmq_processor(processors[queue]), options))

    async def close(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Let running jobs finish; past the grace period they are abandoned to BullMQ's
        stalled check, which puts them back in wait."""
        closing = [asyncio.ensure_future(w.close()) for w in self.workers]
        _, late = await asyncio.wait(closing, timeout=grace_s) if closing else (set(), set())
        if late:
            await asyncio.gather(*(w.close(force=True) for w in self.workers))


class OnDemandWorkers:
    """On-demand workers, built on the drain engine: started when a job is added, closed when
    idle, and a start-up drain for jobs left queued while nothing ran. No polling while idle."""

    def __init__(
        self,
        redis: Client,
        prefix: str,
        processors: dict[str, Processor],
        queues: list[str],
        idle_timeout_ms: int = DEFAULT_IDLE_TIMEOUT_MS,
        concurrency: int = 1,
        metrics_max_data_points: int | None = None,
    ) -> None:
        self.redis = redis
        self.metrics_max_data_points = metrics_max_data_points
        self.prefix = prefix
        self.queues = queues
        self.idle_timeout_s = idle_timeout_ms / 1000
        self.concurrency = concurrency
        self.engine = DrainEngine(redis, prefix, processors)
        self.running: dict[str, asyncio.Task[None]] = {}
        self.wake: dict[str, asyncio.Event] = {}
        self._producers: dict[str, Queue] = {}

    async def start(self) -> dict[str, Any]:
        """The one start-up check: drain whatever was left queued while nothing ran."""
        result = await self.engine.drain(self._options(tuple(self.queues), "on-demand start-up"))
        return result.as_json()

    async def enqueue(
        self, queue: str, name: str, data: Any, opts: dict[str, Any] | None = None
    ) -> Job:
        """Add a job through `bullmq` and start the queue's worker if it is not running."""
        if queue not in self._producers:
            self._producers[queue] = Queue(queue, {"connection": self.redis, "prefix": self.prefix})
        job = await self._producers[queue].add(name, data, opts or {})
        self.notify(queue)
        return job

    def notify(self, queue: str) -> None:
        self.wake.setdefault(queue, asyncio.Event()).set()
        task = self.running.get(queue)
        if task is None or task.done():
            self.running[queue] = asyncio.create_task(self._serve(queue))

    def active(self) -> list[str]:
        return [q for q, task in self.running.items() if not task.done()]

    async def _serve(self, queue: str) -> None:
        """Drain, then wait for a notification (or a delayed job falling due) until the idle
        timeout passes with nothing to do; then the queue's worker is gone."""
        wake = self.wake[queue]
        idle_since = time.monotonic()
        while not self.engine.stopping:
            wake.clear()
            result = await self.engine.drain(self._options((queue,), "on-demand"))
            if result.total_processed:
                idle_since = time.monotonic()
            remaining = idle_since + self.idle_timeout_s - time.monotonic()
            if remaining <= 0:
                return
            due = await self._next_delayed_in(queue)
            timeout = min(remaining, due) if due is not None else remaining
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
            if not wake.is_set() and (due is None or due > remaining):
                return

    async def _next_delayed_in(self, queue: str) -> float | None:
        """Seconds until the queue's next delayed job (a retry's backoff, say) is due."""
        key = QueueKeys(self.prefix, queue).state("delayed")
        head = await self.redis.zrange(key, 0, 0, withscores=True)
        if not head:
            return None
        due_ms = float(head[0][1]) / DELAY_SCORE_FACTOR
        return max(0.0, due_ms / 1000 - time.time())

    def _options(self, queues: tuple[str, ...], trigger: str) -> DrainOptions:
        return DrainOptions(
            queues=queues,
            max_duration_ms=600_000,
            max_concurrent_queues=len(queues) or 1,
            concurrency=self.concurrency,
            trigger=trigger,
            metrics_max_data_points=self.metrics_max_data_points,
        )

    async def close(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop taking jobs, let running ones finish (up to the grace period), then stop."""
        self.engine.stopping = True
        for event in self.wake.values():
            event.set()
        tasks = [t for t in self.running.values() if not t.done()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:
                task.cancel()
