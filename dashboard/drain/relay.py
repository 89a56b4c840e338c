"""A drain at concurrency 1: each job handed over runs as its predecessor's answer arrives.

At concurrency 1 a drain waits for one answer at a time: the completion of the job just run,
which also hands over the next job (drain/finish.py). Through a future, that answer wakes the
slot's task one turn of the event loop later, and the task then climbs back through the
engine's coroutines to run the next handler: about 3 µs a job, and the bookkeeping of the job
just completed (its count, its lock) came before the next completion was sent. The relay
instead hears the answer from the connection's protocol (`finish.Wire`) and, in that same
callback, starts the next job's handler; when the handler finishes without waiting on anything
(a quick job), its completion is sent at once, and only then is the finished job counted and
its lock given up, while Redis runs the script. On the benchmark's no-op jobs that is about 5%
more jobs a second (bench/drain.py).

Everything else is the slot's task's, as without the relay: the relay stops, and says where
the task goes on (`Stop`), at anything but the usual case: no next job, or one that needs the
bullmq Worker; an error reply (a lost lock, NOSCRIPT) or a dropped connection; a handler that
raises, or that waits on something (its first `await` of real I/O). A handler the relay
started runs as if the slot's task had started it: the task is the current task while it
runs (`asyncio.timeout`, redis-py's reads ask for it), in the task's own context, and when it
waits, the task goes on running it from there (`Resumed`).
"""

from __future__ import annotations

import asyncio
import contextvars
import time

# asyncio's own way of making a task the current one while something runs on its behalf
# outside it (Python 3.12's eager tasks do so); 3.11 has no public API for it.
from asyncio.tasks import _enter_task, _leave_task
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from types import CoroutineType
from typing import Any

from bullmq import Job, Worker
from redis.exceptions import ConnectionError

from dashboard.drain.finish import CLOSED, Finisher, Listener, next_job_data
from dashboard.drain.job import DrainJob, slot_token, thin_job
from dashboard.drain.processors import Processor
from dashboard.redis_client.counting import count_reads


@dataclass(frozen=True, slots=True)
class Stop:
    """Where the slot's task goes on when the relay stops. Every job before `job` is complete
    and counted. With `started`, `job`'s handler is running: the task awaits it for the
    result. Otherwise `job`'s completion (`command`) was answered with `reply`, which the
    finisher settles (`Finisher.settle`); `fetch_next` says if it asked for a next job."""

    job: DrainJob | Job
    started: Awaitable[Any] | None = None
    command: bytes = b""
    reply: Any = None
    fetch_next: bool = False


class Resumed:
    """A handler's coroutine that the relay started and that then waited on `yielded`: awaited
    by the slot's task, which runs its remaining steps as `await` would have."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self.coroutine = coroutine
        self.yielded = yielded
        self.thrown: BaseException | None = None

    def cancel(self, error: BaseException) -> None:
        """The slot's task was cancelled before it took the handler over (the handler's own
        timeout, a shutdown): as `Task.cancel` does, what the handler waits on is cancelled,
        and the handler hears `error` at its first step in the task."""
        self.thrown = error
        if isinstance(self.yielded, asyncio.Future):
            self.yielded.cancel()

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, yielded, thrown = self.coroutine, self.yielded, self.thrown
        sent = None
        while True:
            if thrown is None:
                try:
                    sent = yield yielded
                except GeneratorExit:
                    coroutine.close()
                    raise
                except BaseException as error:  # the task cancelled: the handler hears it
                    thrown = error
            try:
                if thrown is None:
                    yielded = coroutine.send(sent)
                else:
                    pending, thrown = thrown, None
                    yielded = coroutine.throw(pending)
            except StopIteration as stop:
                return stop.value


class Relay(Listener):
    """A queue's one slot's completions and handlers, from one answer to the next."""

    def __init__(
        self,
        finisher: Finisher,
        worker: Worker,
        processor: Processor,
        take: Callable[[], bool],
        completed: Callable[[], None],
    ) -> None:
        self.finisher = finisher
        self.worker = worker
        self.token = slot_token(worker, 0)  # its one slot's
        self.processor = processor
        self.take = take  # the job budget's: may the next job be fetched
        self.completed = completed  # the engine's count of a completed job
        self.loop = asyncio.get_running_loop()
        # The slot's task and the context it runs in (`start`).
        self.task: asyncio.Task[Any] | None = None
        self.context = contextvars.copy_context()
        self.waiter: asyncio.Future[Stop] | None = None
        # The job whose completion was sent last, and where the relay stopped (None: that
        # completion is on its way).
        self.job: DrainJob | Job | None = None
        self.command = b""
        self.fetch_next = False
        self.stopped: Stop | None = None

    def start(self, slot: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """The slot's task, run in the context the relay runs its handlers in."""
        self.task = self.loop.create_task(slot, context=self.context)
        return self.task

    async def complete(self, job: DrainJob | Job, value: Any, fetch_next: bool) -> Stop:
        """Sends `job`'s completion and relays until the usual case ends (`Stop`)."""
        self.waiter = self.loop.create_future()
        self.stopped = None
        await self.finisher.attached()
        self._send(job, value, fetch_next)
        try:
            return await self.waiter
        except BaseException as error:
            stop = self.stopped
            if stop is not None and isinstance(stop.started, Resumed):
                # Cancelled as the handler the relay started waits: the handler hears it.
                stop.started.cancel(error)
                return stop
            self._abandon(stop)
            raise
        finally:
            self.waiter = None

    def _abandon(self, stop: Stop | None) -> None:
        """The slot's task cancelled (past maxDurationMs, a shutdown) where the relay stood:
        what Redis ran is counted, and the lock manager lets go of the job left active (a
        later drain's stalled check takes it back)."""
        locks = self.worker.lockManager
        if stop is None:  # a completion on its way: sent, so Redis runs it
            count_reads(1)
            assert self.job is not None
            locks.untrack_job(self.job.id)
            return
        locks.untrack_job(stop.job.id)
        if stop.started is None and type(stop.reply) is list:
            count_reads(1 + int(stop.reply[0]))  # answered: it completed its job
            self.completed()
        elif isinstance(stop.started, asyncio.Future) and stop.started.done():
            stop.started.exception()  # the handler's error, dropped with its job

    def _send(self, job: DrainJob | Job, value: Any, fetch_next: bool) -> None:
        finisher = self.finisher
        command = finisher.args.packed(finisher.sha, job, value, self.token, fetch_next)
        self.job, self.command, self.fetch_next = job, command, fetch_next
        # The finisher's connection, attached by `complete`; no other completion replaces it
        # while the relay runs.
        assert finisher.wire is not None
        finisher.wire.send_to(self, command)

    def _stop(self, stop: Stop) -> None:
        # Kept even when the task was cancelled meanwhile (`complete`).
        self.stopped = stop
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(stop)

    def _answer(self, reply: Any) -> None:
        """The slot's task goes on from this answer to the job on its way."""
        assert self.job is not None
        self._stop(Stop(self.job, None, self.command, reply, self.fetch_next))

    def lost(self) -> None:
        self._answer(ConnectionError(CLOSED))

    def answered(self, reply: Any) -> None:
        if self.waiter is None or self.waiter.done():
            return  # abandoned: the slot's task was cancelled
        try:
            self.context.run(self._relay, reply)
        except BaseException as error:  # a bug here must reach the drain, not the protocol
            waiter = self.waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)

    def _relay(self, reply: Any) -> None:
        done = self.job
        assert done is not None
        result = reply[1] if type(reply) is list and len(reply) > 1 else None
        if not self.fetch_next or type(result) is not list:
            return self._answer(reply)  # no next job asked for, an error, an error code
        job = thin_job(self.worker, next_job_data(result), self.token)
        if job is None:
            return self._answer(reply)  # none handed over, or a scheduler's
        started: Awaitable[Any] | None = None
        value = None
        task = self.task
        assert task is not None
        _enter_task(self.loop, task)
        try:
            running = self.processor(job)
            if isinstance(running, CoroutineType):
                try:
                    yielded = running.send(None)
                except StopIteration as stop:
                    value = stop.value
                else:
                    started = Resumed(running, yielded)
            else:
                started = running
        except BaseException as error:
            started = self._failed(error)
        finally:
            _leave_task(self.loop, task)
        if started is None:
            self._send(job, value, self.take())
        # The rest after the next completion went out (Redis runs it meanwhile), but before
        # the loop runs anything else: the lock manager renews the new job's lock, no longer
        # the completed one's.
        count_reads(1 + int(reply[0]))
        locks = self.worker.lockManager
        locks.track_job(job.id, self.token, int(time.time() * 1000))
        locks.untrack_job(done.id)
        self.completed()
        if started is not None:
            self._stop(Stop(job, started))

    def _failed(self, error: BaseException) -> asyncio.Future[Any]:
        """A handler that raised as the relay started it, for the slot's task to await: its
        error as raised, the relay's frame taken off its traceback (a failed job keeps it)."""
        failed = self.loop.create_future()
        trace = error.__traceback__
        failed.set_exception(error.with_traceback(trace.tb_next if trace else None))
        return failed
