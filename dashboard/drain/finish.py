"""Completing a drained job: BullMQ's own moveToFinished script, with less Python around it.

At concurrency 1 a drain is one round trip per job (the script that completes a job also hands
over the next one), so whatever the client does around that round trip adds straight to each
job's time. Per no-op job the bullmq package spent about 15 µs rebuilding arguments that
hardly change from one job to the next, and redis-py about 40 µs in its command machinery
(pool checkout, retry wrapper, observability hooks, response callbacks) around one EVALSHA.
What is left at concurrency 1 is mostly not Python's: of some 150 µs a job on a 2-core VM, the
client's Python between an answer and the next command took 20 µs (14 µs since drain/relay.py
runs the next handler from the answer), the socket write 18 µs, and
the rest was Redis (84 µs of its CPU a job, the script 50 µs of it) and the kernel waking each
side on the other core: with the drain and Redis pinned to one core, the same drain ran 10,232
jobs/s instead of 6,472-6,620 unpinned (Node BullMQ's Worker 5,478 instead of 4,576-4,800; one
diagnostic run, not a benchmark of this repository). The CLI's drains therefore poll the socket
for the answer instead of sleeping until it wakes them (drain/busy_poll.py).

What stays BullMQ's: the script is the package's own moveToFinished, and its keys and
arguments are the ones `Scripts.moveToCompletedArgs` builds. That is called once per kind of
job, and its output packed once for the wire; later jobs of the same kind fill in their own
job key, id, time, return value and fetch-next (tests/integration/test_drain_finish.py holds the
bytes sent to hiredis' packing of bullmq's own arguments, job by job).

What Redis executes is counted as everywhere else (dashboard/redis_client/lua.py): the script
sent is the package's wrapped so that its answer also says how many commands it ran, so the
count costs no command and no round trip.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from typing import Any

import hiredis
from bullmq import Job, Worker
from redis._parsers.base import BaseParser
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, BlockingConnectionPool
from redis.exceptions import ConnectionError, InvalidResponse, NoScriptError

from dashboard.drain.busy_poll import Polls
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


# The return value as bullmq's moveToCompletedArgs writes it, with an encoder made once.
_to_json = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_FETCH_NEXT = {True: b"$1\r\n1\r\n", False: b"$0\r\n\r\n"}


def _packed(*parts: Any) -> bytes:
    """A command in Redis' wire format, as hiredis packs it."""
    command: bytes = hiredis.pack_command(parts)
    return command


def _resp(*parts: Any) -> bytes:
    """Command arguments in Redis' wire format, without the count that heads a whole command."""
    return _packed(*parts).partition(b"\r\n")[2] if parts else b""


class Kind:
    """A kind of job's completion: bullmq's keys and arguments for its first job, and the
    EVALSHA as sent, packed once with holes for what differs from one job to the next."""

    __slots__ = ("args", "keys", "wire")

    def __init__(self, keys: list[Any], args: list[Any]) -> None:
        self.keys = keys
        self.args = args
        self.wire: bytes | None = None

    def pack(self, sha: str, job_key_prefix: str) -> bytes:
        """The command as a bytes %-format: the job's key, id, time, return value and "fetch
        next" fill its holes (`CompletionArgs.packed`), every other argument packed here."""
        keys, args = self.keys, self.args
        head = b"*%d\r\n" % (3 + len(keys) + len(args))
        parts = [
            head + _resp("EVALSHA", sha, len(keys), *keys[:JOB_KEY]),
            # A queue's name may hold a `%`, and its length is in bytes (`packed`).
            b"$%d\r\n" + job_key_prefix.encode().replace(b"%", b"%%") + b"%b\r\n",
            _resp(*keys[JOB_KEY + 1 :]),
            b"$%d\r\n%b\r\n$%d\r\n%b\r\n",  # id, time
            _resp(*args[ARG_TIMESTAMP + 1 : ARG_VALUE]),
            b"$%d\r\n%b\r\n",  # value
            _resp(*args[ARG_VALUE + 1 : ARG_FETCH_NEXT]),
            b"%b",  # fetch next
            _resp(*args[ARG_FETCH_NEXT + 1 :]),
        ]
        # The packed arguments (a job's msgpack options among them) may hold a `%`.
        self.wire = b"".join(
            part if n % 2 else part.replace(b"%", b"%%") for n, part in enumerate(parts)
        )
        return self.wire


class CompletionArgs:
    """moveToFinished's keys and arguments for completing a job, as the bullmq package builds
    them, built by it once per kind of job: same slot token, same stored options (removeOnComplete,
    attempts, the parent-failure flags), same attempts made. The queue's options (limiter,
    lockDuration, metrics) are the Worker's and do not change during a drain."""

    def __init__(self, worker: Worker) -> None:
        self.scripts = worker.scripts
        self.job_key_prefix = worker.scripts.toKey("")
        self.job_key_bytes = len(self.job_key_prefix.encode())
        self.kinds: dict[tuple[str, str | None, int], Kind] = {}

    def _kind(
        self, job: DrainJob | Job, value: Any, token: str, fetch_next: bool
    ) -> tuple[Kind | None, tuple[list[Any], list[Any]] | None]:
        """The job's kind when known, else bullmq's keys and arguments for this job."""
        kind = job.kind if isinstance(job, DrainJob) else None
        known = self.kinds.get(kind) if kind else None
        if known is not None:
            return known, None
        built = self.scripts.moveToCompletedArgs(
            job, value, job.opts.get("removeOnComplete", False), token, fetch_next
        )
        if kind:
            if len(self.kinds) >= MAX_KINDS:
                self.kinds.clear()
            self.kinds[kind] = Kind(*built)
        return None, built

    def build(
        self, job: DrainJob | Job, value: Any, token: str, fetch_next: bool
    ) -> tuple[list[Any], list[Any]]:
        known, built = self._kind(job, value, token, fetch_next)
        if known is None:
            assert built is not None
            return built
        keys, args = known.keys.copy(), known.args.copy()
        keys[JOB_KEY] = self.scripts.toKey(job.id)
        args[ARG_ID] = job.id
        args[ARG_TIMESTAMP] = round(time.time() * 1000)
        args[ARG_VALUE] = _to_json(value)
        args[ARG_FETCH_NEXT] = "1" if fetch_next else ""
        return keys, args

    def packed(
        self, sha: str, job: DrainJob | Job, value: Any, token: str, fetch_next: bool
    ) -> bytes:
        """The EVALSHA of script `sha` that completes the job, in Redis' wire format: what
        hiredis would pack from `build`'s keys and arguments, without building them."""
        known, built = self._kind(job, value, token, fetch_next)
        if known is None:
            assert built is not None
            keys, args = built
            return _packed("EVALSHA", sha, len(keys), *keys, *args)
        wire = known.wire or known.pack(sha, self.job_key_prefix)
        job_id = job.id.encode()
        now = b"%d" % round(time.time() * 1000)
        returned = b"null" if value is None else _to_json(value).encode()  # most handlers
        return wire % (
            self.job_key_bytes + len(job_id),
            job_id,
            len(job_id),
            job_id,
            len(now),
            now,
            len(returned),
            returned,
            _FETCH_NEXT[fetch_next],
        )


def next_job_data(raw: list[Any] | None) -> list[Any]:
    """bullmq's raw2NextJobData: [the job's hash as a dict, its id, limitUntil, delayUntil],
    [None] * 4 for no job; the hash's field list made a dict by `dict` rather than a Python
    loop (2 µs a job), its fields and values paired off one iterator (no slices)."""
    if not raw:
        return [None, None, None, None]
    job = None
    if fields := raw[0]:
        pairs = iter(fields)
        job = dict(zip(pairs, pairs, strict=False))  # a hash's reply: an even count
    return [job, raw[1], None, None] if len(raw) == 2 else [job, raw[1], raw[2], raw[3]]


class Finisher:
    """Completes a queue's drained jobs: moveToFinished, which also hands over the next job.

    Every slot of the queue sends its completions on one connection of the client's pool,
    without waiting for the others' answers, as Node BullMQ's Worker sends all its slots' on
    one connection. Redis reads the completions that arrived meanwhile in one read and answers
    them in one write: at concurrency 10 it spent 2-3 µs of system time per job instead of
    8-10 with a connection per slot. Each completion is written as soon as it is made: held
    back to go out together at the end of the loop's turn, they made Redis wait for the
    slowest slot and then the client wait for Redis (17,000 jobs/s instead of 24,000).
    Answers are read by the finisher's own protocol on that connection's socket (`Wire`).
    A cluster client goes through redis-py's script object."""

    def __init__(
        self, worker: Worker, client: Any, lines: int = 1, polls: Polls | None = None
    ) -> None:
        self.scripts = worker.scripts
        self.args = CompletionArgs(worker)
        script = worker.scripts.commands["moveToFinished"]
        if not isinstance(script, CountedScript):
            raise TypeError("the Worker's scripts must be counted (lua.count_scripts) first")
        self.script = script
        self.sha = script.wrapped.sha
        self.load = _packed("SCRIPT", "LOAD", script.wrapped.script)
        self.pool = client.connection_pool if isinstance(client, Redis) else None
        # A pool without a bound (the CLI's, the on-demand workers') lets the queue keep its
        # connection from one job to the next. A bounded one (the web app's) is shared with the
        # pages and with the handlers' own commands: there the drain's `lines` (one per queue
        # drained at once) keep theirs only while they hold a quarter of the pool at most (the
        # web app's 20 connections and its Drain now's 2 queues do); otherwise a connection is
        # taken while completions are on their way (about 1 µs for an idle pool's checkout,
        # connection.CheckoutPool; redis-py's own path when the pool is contended).
        self.hold = self.pool is not None and (
            not isinstance(self.pool, BlockingConnectionPool)
            or lines * HELD_SHARE <= self.pool.max_connections
        )
        self.polls = polls
        self.wire: Wire | None = None
        self.attaching = asyncio.Lock()

    async def complete(
        self, job: DrainJob | Job, value: Any, token: str, fetch_next: bool
    ) -> list[Any]:
        """The next job's data as bullmq's moveToActive answers it ([None] * 4 for none).
        Raises bullmq's own TypeError when the job is no longer ours (lost lock, removed).

        Where the pool allows, the connection is kept while completions hand over the next
        job, and given back once none is on its way and one did not: the slot's next
        moveToActive and the drain's last commands then find it in the pool instead of opening
        another connection, whose handshake would cost commands."""
        if self.pool is None:
            result = await self.script(*self.args.build(job, value, token, fetch_next))
            return self.taken(job, result)
        # The usual case inline and counted with one call: at concurrency 1 every coroutine
        # and call on this path is paid at every job.
        command = self.args.packed(self.sha, job, value, token, fetch_next)
        wire = await self.attached()
        try:
            reply = await wire.send(command)
        except ConnectionError as lost:
            reply = lost
        except BaseException:
            count_reads(1)  # sent, so Redis runs it, even if its answer is never read
            await self.let_go()
            raise
        return await self.settle(job, command, reply)

    async def settle(self, job: DrainJob | Job, command: bytes, reply: Any) -> list[Any]:
        """`complete`'s answer, from Redis' reply to `command` (a lost connection's
        ConnectionError, an error reply as an exception instance)."""
        last = True
        try:
            taken = self.taken(job, await self._result(command, reply))
            last = not taken[0]
            return taken
        finally:
            if last or not self.hold:
                await self.let_go()

    def taken(self, job: DrainJob | Job, result: Any) -> list[Any]:
        """The next job's data from the script's answer, or bullmq's error for its code."""
        if isinstance(result, int) and result < 0:
            raise self.scripts.finishedErrors(
                dict(code=result, jobId=job.id, command="moveToFinished", state="active")
            )
        return next_job_data(result)

    async def _result(self, command: bytes, reply: Any) -> Any:
        """The script's own answer, counted: a command whose connection dropped sent again,
        one that met NOSCRIPT sent again with its script."""
        if isinstance(reply, ConnectionError):
            reply = await self._resend(command)
        if type(reply) is list:
            count_reads(1 + int(reply[0]))  # the call and what the script ran
            return reply[1] if len(reply) > 1 else None
        return await self._again(command, reply)

    async def attached(self) -> Wire:
        """The connection the queue's completions go on."""
        wire = self.wire
        if wire is None or wire.lost or wire.transport.is_closing():
            wire = await self._attach()
        return wire

    async def _resend(self, command: bytes) -> Any:
        """The connection dropped before the answer came: replaced, and the command sent once
        more, as the client's own retry policy does (connection.resending)."""
        count_reads(1)
        wire = await self._attach()
        try:
            return await wire.send(command)
        except BaseException:
            count_reads(1)
            raise

    async def _again(self, command: bytes, reply: Any) -> Any:
        """The script's answer when Redis answered `command` with an error."""
        count_reads(1)
        if isinstance(reply, NoScriptError):
            # The server's first drain, or one after a restart or SCRIPT FLUSH: loaded on this
            # same connection (another would cost a handshake), then sent again.
            count_reads(2)
            wire = await self._attach()
            _, reply = await asyncio.gather(wire.send(self.load), wire.send(command))
        if isinstance(reply, Exception):
            raise reply
        return unwrapped(reply)

    async def _attach(self) -> Wire:
        """A working connection for the queue's completions: the one held, connected again if
        it was closed, else one from the pool."""
        pool = self.pool
        assert pool is not None
        async with self.attaching:
            wire = self.wire
            if wire is not None and not wire.lost and not wire.transport.is_closing():
                return wire
            self.wire = None
            if wire is not None:
                connection = wire.connection
                try:
                    await connection.disconnect(nowait=True)
                    await pool.ensure_connection(connection)
                except BaseException:
                    await pool.release(connection)
                    raise
            else:
                # redis-py leaves this method unannotated.
                connection = await pool.get_connection()  # type: ignore[no-untyped-call]
            self.wire = Wire(connection, self.polls)
            return self.wire

    async def let_go(self) -> None:
        """The connection back to the pool, once no completion is on its way on it."""
        if self.wire is not None and not self.wire.waiting:
            await self.close()

    async def close(self) -> None:
        """The connection back to the pool as the queue's drain ends. Completions abandoned on
        the way (past maxDurationMs) would leave their answers to its next user: it is closed
        then, and opened again by whoever takes it next."""
        wire, self.wire = self.wire, None
        if wire is None or self.pool is None:
            return
        if wire.waiting or wire.lost:
            await wire.connection.disconnect(nowait=True)
        else:
            wire.detach()
        await self.pool.release(wire.connection)


class Listener:
    """Told of its command's answer by the Wire, instead of a future being set: a drain's
    relay (drain/relay.py) goes on from the answer at once, without waiting for its task."""

    def answered(self, reply: Any) -> None:
        raise NotImplementedError

    def lost(self) -> None:
        raise NotImplementedError


class Wire(asyncio.Protocol):
    """A pool connection's socket while a queue's completions are on it: answers parsed by
    hiredis as they arrive and handed to the waiting completions in order, without redis-py's
    stream reader and read path in between (at concurrency 1 each layer is paid at every job:
    8 µs of the client's CPU per job). redis-py's own protocol gets the socket back on
    `detach`, and hears of its closing meanwhile."""

    def __init__(self, connection: AbstractConnection, polls: Polls | None = None) -> None:
        self.connection = connection
        self.transport: asyncio.WriteTransport = connection._writer.transport  # type: ignore[union-attr]
        # Busy polling (the CLI's drains, drain/busy_poll.py): the relay's answers read from
        # the socket as they come, instead of after the loop's wake-up.
        self.poller = polls.poller(self.transport) if polls is not None else None
        self.stream = self.transport.get_protocol()
        encoder = connection.encoder
        options: dict[str, Any] = {
            "protocolError": InvalidResponse,
            "replyError": BaseParser.parse_error,
        }
        if encoder.decode_responses:
            options.update(encoding=encoder.encoding, errors=encoder.encoding_errors)
        self.reader = hiredis.Reader(**options)
        self.waiting: deque[asyncio.Future[Any] | Listener] = deque()
        self.lost = False
        self.loop = asyncio.get_running_loop()
        self.transport.set_protocol(self)

    def send(self, command: bytes) -> asyncio.Future[Any]:
        """Its answer, an error reply as an exception instance; ConnectionError if the
        connection closes first."""
        answer = self.loop.create_future()
        if self.lost:
            answer.set_exception(ConnectionError(CLOSED))
            return answer
        self.waiting.append(answer)
        self.transport.write(command)
        return answer

    def send_to(self, listener: Listener, command: bytes) -> None:
        """`send`, its answer told to `listener`."""
        if self.lost:
            listener.lost()
            return
        self.waiting.append(listener)
        self.transport.write(command)

    def data_received(self, data: bytes) -> None:
        self._answer(data)
        poller = self.poller
        if poller is not None:
            for more in poller.reads(self._relayed):
                self._answer(more)

    def _relayed(self) -> bool:
        """A relay's completion sent whole and awaiting its answer."""
        waiting = self.waiting
        return (
            bool(waiting)
            and isinstance(waiting[0], Listener)
            and not self.transport.get_write_buffer_size()
        )

    def _answer(self, data: bytes) -> None:
        """The answers in `data` to the commands waiting, in order."""
        self.reader.feed(data)
        waiting = self.waiting
        reply = self.reader.gets()
        while reply is not False:
            # A RESP3 push (a server's maintenance notice, client tracking) answers no command.
            if type(reply) is not hiredis.PushNotification:
                answer = waiting.popleft()
                if isinstance(answer, Listener):
                    answer.answered(reply)
                elif not answer.done():  # its caller was cancelled (a drain past maxDurationMs)
                    answer.set_result(reply)
            reply = self.reader.gets()

    def eof_received(self) -> bool | None:
        self._fail()
        return self.stream.eof_received()  # type: ignore[union-attr,no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail()
        self.stream.connection_lost(exc)

    def pause_writing(self) -> None:
        self.stream.pause_writing()

    def resume_writing(self) -> None:
        self.stream.resume_writing()

    def _fail(self) -> None:
        self.lost = True
        waiting, self.waiting = self.waiting, deque()
        for answer in waiting:
            if isinstance(answer, Listener):
                answer.lost()
            elif not answer.done():
                answer.set_exception(ConnectionError(CLOSED))

    def detach(self) -> None:
        self.transport.set_protocol(self.stream)


CLOSED = "Connection closed by server."
