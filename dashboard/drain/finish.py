"""Completing a drained job: BullMQ's own moveToFinished script, with less Python around it.

At concurrency 1 a drain is one round trip per job (the script that completes a job also hands
over the next one), so whatever the client does around that round trip adds straight to each
job's time. Per no-op job the bullmq package spent about 15 µs rebuilding arguments that
hardly change from one job to the next, and redis-py about 40 µs in its command machinery
(pool checkout, retry wrapper, observability hooks, response callbacks) around one EVALSHA.

What stays BullMQ's: the script is the package's own moveToFinished (its sha, loaded by it),
and its keys and arguments are the ones `Scripts.moveToCompletedArgs` builds. That is called
once per kind of job; later jobs of the same kind re-use its output with their own id, time
and return value (tests/integration/test_drain_finish.py holds the two to the same answer).

What Redis executes is counted as everywhere else (dashboard/redis_client/lua.py): the script
sent is the package's, wrapped so that its answer also says how many commands it ran, so the
count costs no command and no round trip.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bullmq import Job, Worker
from bullmq.scripts import raw2NextJobData
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, BlockingConnectionPool
from redis.exceptions import NoScriptError

from dashboard.drain.job import DrainJob
from dashboard.redis_client.counting import count_reads
from dashboard.redis_client.lua import CountedScript, unwrapped

# Where moveToCompletedArgs puts what differs between two jobs of one kind: the job's hash
# among the keys; its id, the finishing time, the return value and "fetch next" among the args.
JOB_KEY = 11
ARG_ID, ARG_TIMESTAMP, ARG_VALUE, ARG_FETCH_NEXT = 0, 1, 3, 5
# A bounded pool lets a drain's slots keep connections while they hold this share of it at most.
HELD_SHARE = 4
# Kinds of job remembered per queue drain: a queue's jobs usually share one or a few option
# sets; a queue whose every job has options of its own must not grow this without bound.
MAX_KINDS = 256


class CompletionArgs:
    """moveToFinished's keys and arguments for completing a job, as the bullmq package builds
    them, built by it once per kind of job: same slot token, same stored options (removeOnComplete,
    attempts, the parent-failure flags), same attempts made. The queue's options (limiter,
    lockDuration, metrics) are the Worker's and do not change during a drain."""

    def __init__(self, worker: Worker) -> None:
        self.scripts = worker.scripts
        self.kinds: dict[tuple[str, str | None, int], tuple[list[Any], list[Any]]] = {}

    def build(
        self, job: DrainJob | Job, value: Any, token: str, fetch_next: bool
    ) -> tuple[list[Any], list[Any]]:
        kind = job.kind if isinstance(job, DrainJob) else None
        known = self.kinds.get(kind) if kind else None
        if known is None:
            keys, args = self.scripts.moveToCompletedArgs(
                job, value, job.opts.get("removeOnComplete", False), token, fetch_next
            )
            if kind:
                if len(self.kinds) >= MAX_KINDS:
                    self.kinds.clear()
                self.kinds[kind] = (keys, args)
            return keys, args
        keys, args = known[0].copy(), known[1].copy()
        keys[JOB_KEY] = self.scripts.toKey(job.id)
        args[ARG_ID] = job.id
        args[ARG_TIMESTAMP] = round(time.time() * 1000)
        args[ARG_VALUE] = json.dumps(value, separators=(",", ":"), allow_nan=False)
        args[ARG_FETCH_NEXT] = "1" if fetch_next else ""
        return keys, args


class Finisher:
    """Completes a queue's drained jobs: moveToFinished, which also hands over the next job.

    The script runs by EVALSHA on a connection of the client's pool: the send and the read of
    redis-py's own command path, with its retry policy and its disconnect on error, without its
    per-command bookkeeping. A cluster client, and a server that has not loaded the script
    (restarted, SCRIPT FLUSH), go through redis-py's script object as before."""

    def __init__(self, worker: Worker, client: Any, slots: int = 1) -> None:
        self.scripts = worker.scripts
        self.args = CompletionArgs(worker)
        script = worker.scripts.commands["moveToFinished"]
        if not isinstance(script, CountedScript):
            raise TypeError("the Worker's scripts must be counted (lua.count_scripts) first")
        self.script = script
        self.pool = client.connection_pool if isinstance(client, Redis) else None
        # A pool without a bound (the CLI's, the on-demand workers') lets a slot keep its
        # connection from one job to the next. A bounded one (the web app's) is shared with the
        # pages and with the handlers' own commands: slots keeping connections while their
        # handlers run could leave them none. So there the drain's `slots` (every slot of every
        # queue drained at once) keep theirs only while they hold a quarter of the pool at most
        # (the web app's 20 connections and its Drain now's 2 queues at concurrency 1 do);
        # otherwise a slot takes one per call, at some 15 µs a job for the pool's checkout.
        self.hold = self.pool is not None and (
            not isinstance(self.pool, BlockingConnectionPool)
            or slots * HELD_SHARE <= self.pool.max_connections
        )

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Line]:
        line = Line(self)
        try:
            yield line
        finally:
            await line.let_go()


class Line:
    """One slot's completions. Where the pool allows, the slot keeps its connection while each
    completion hands over the next job, and gives it back when one does not: the slot's next
    moveToActive and the drain's last commands then find it in the pool instead of opening
    another connection, whose handshake would cost commands."""

    def __init__(self, finisher: Finisher) -> None:
        self.finisher = finisher
        self.connection: AbstractConnection | None = None

    async def complete(
        self, job: DrainJob | Job, value: Any, token: str, fetch_next: bool
    ) -> list[Any]:
        """The next job's data as bullmq's moveToActive answers it ([None] * 4 for none).
        Raises bullmq's own TypeError when the job is no longer ours (lost lock, removed)."""
        finisher = self.finisher
        keys, args = finisher.args.build(job, value, token, fetch_next)
        last = True
        try:
            result = await self._run(keys, args)
            if isinstance(result, int) and result < 0:
                raise finisher.scripts.finishedErrors(
                    dict(code=result, jobId=job.id, command="moveToFinished", state="active")
                )
            taken: list[Any] = raw2NextJobData(result)
            last = not taken[0]
            return taken
        finally:
            if last:
                await self.let_go()

    async def let_go(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and self.finisher.pool is not None:
            await self.finisher.pool.release(connection)

    async def _run(self, keys: list[Any], args: list[Any]) -> Any:
        finisher = self.finisher
        if finisher.pool is None:
            return await finisher.script(keys=keys, args=args)
        connection = self.connection
        if connection is None:
            # redis-py leaves this method unannotated.
            connection = await finisher.pool.get_connection()  # type: ignore[no-untyped-call]
            if finisher.hold:
                self.connection = connection
        else:
            # What the pool does at each checkout, so that the kept connection is checked as
            # if taken afresh for each job: connected again if it was closed meanwhile.
            await finisher.pool.ensure_connection(connection)
        command = ("EVALSHA", finisher.script.wrapped.sha, len(keys), *keys, *args)
        try:
            return unwrapped(
                await connection.retry.call_with_retry(
                    lambda: _send_and_read(connection, command),
                    lambda _error: connection.disconnect(),
                )
            )
        except NoScriptError:
            pass  # loaded below by the counted script object, which then runs it
        finally:
            if not finisher.hold:
                await finisher.pool.release(connection)
        return await finisher.script(keys=keys, args=args)


async def _send_and_read(connection: AbstractConnection, command: tuple[Any, ...]) -> Any:
    count_reads(1)  # each time it is sent: Redis counts a NOSCRIPT answer too
    await connection.send_packed_command(connection.pack_command(*command))
    return await connection.read_response()
