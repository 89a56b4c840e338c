"""Completing drained jobs (dashboard/drain/finish.py) on real servers: the script arguments
are bullmq's own, and the direct script call survives what redis-py's command path survives."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from typing import Any

import hiredis
import pytest
import redis.asyncio as aioredis
from bullmq import Queue, Worker

from dashboard.drain.engine import DrainEngine, DrainOptions
from dashboard.drain.finish import ARG_TIMESTAMP, CompletionArgs
from dashboard.drain.job import DrainJob
from dashboard.redis_client.connection import connect
from dashboard.redis_client.lua import counted_source

KINDS: list[dict[str, Any]] = [
    {},
    {"removeOnComplete": True},
    {"removeOnComplete": 5},
    {"removeOnComplete": {"age": 60, "count": 3}},
    {"attempts": 3, "backoff": {"type": "exponential", "delay": 10}},
    {"failParentOnFailure": True, "removeOnFail": True},
    {"ignoreDependencyOnFailure": True, "priority": 4},
]


async def add_jobs(url: str, queue: str, opts: list[dict[str, Any]], per_kind: int) -> None:
    q = Queue(queue, {"connection": url})
    for n, (kind, _) in enumerate(itertools.product(opts, range(per_kind))):
        await q.add("j", {"n": n}, kind)
    await q.close()


# A `%` and a character of more than one byte in a queue's name: its job keys are in the packed
# %-format, with their length in bytes.
ODD_NAMES = ["kinds", "50%off", "café-%s"]


@pytest.mark.parametrize("queue", ODD_NAMES)
async def test_arguments_are_what_bullmq_builds_for_every_job(r, server_url: str, queue) -> None:
    """Built once per kind of job and re-used, they match bullmq's moveToCompletedArgs for each
    job: options, attempts made, slot token, return value, fetch-next, queue options."""
    await add_jobs(server_url, queue, KINDS, per_kind=2)
    worker = Worker(
        queue,
        None,
        {
            "connection": r,
            "autorun": False,
            "lockDuration": 12_000,
            "limiter": {"max": 5, "duration": 1000},
            "metrics": {"maxDataPoints": 60},
        },
    )
    built = CompletionArgs(worker)
    ids = await r.lrange(f"bull:{queue}:wait", 0, -1)
    values = [None, "text", {"a": [1, 2]}, 7]
    for n, job_id in enumerate(ids):
        raw = await r.hgetall(f"bull:{queue}:{job_id}")
        if n % 3 == 0:
            raw["atm"] = "2"  # a retried job: attempts made is part of its kind
        # A `%` in the token: the packed arguments are a %-format.
        for token, fetch_next in (("w:0", True), ("w:%1", False)):
            value = values[n % len(values)]
            ours = built.build(DrainJob(worker, raw, job_id, token), value, token, fetch_next)
            reference = DrainJob(worker, raw, job_id, token)
            theirs = worker.scripts.moveToCompletedArgs(
                reference, value, reference.opts.get("removeOnComplete", False), token, fetch_next
            )
            assert ours[0] == theirs[0]
            for args in (ours[1], theirs[1]):
                args[ARG_TIMESTAMP] = 0  # each read the clock
            assert ours[1] == theirs[1], (job_id, token)
            # The EVALSHA as sent: what hiredis packs from bullmq's own keys and arguments.
            job = DrainJob(worker, raw, job_id, token)
            sent = unpacked(built.packed("sha", job, value, token, fetch_next))
            expected = unpacked(
                hiredis.pack_command(("EVALSHA", "sha", len(theirs[0]), *theirs[0], *theirs[1]))
            )
            stamp = 3 + len(theirs[0]) + ARG_TIMESTAMP
            assert abs(int(sent[stamp]) - time.time() * 1000) < 5000
            sent[stamp] = b"0"
            assert sent == expected, (job_id, token)
    assert 0 < len(built.kinds) < len(ids) * 2  # later jobs of a kind re-used the first's


def unpacked(command: bytes) -> list[bytes]:
    """A command in Redis' wire format, read back as its arguments (its own length checked)."""
    reader = hiredis.Reader()
    reader.feed(command)
    arguments = reader.gets()
    assert isinstance(arguments, list) and reader.gets() is False
    return arguments


@pytest.mark.parametrize("queue", ODD_NAMES[1:])
async def test_a_queue_with_an_odd_name_is_drained(r, server_url: str, queue: str) -> None:
    """The second job of a kind takes the packed command: it completes as the first did."""
    await add_jobs(server_url, queue, [{}], per_kind=4)
    result = await DrainEngine(r, "bull", {queue: _quick}).drain(DrainOptions((queue,)))
    assert (result.queues[queue].jobs_processed, result.total_failed) == (4, 0)
    assert await r.zcard(f"bull:{queue}:completed") == 4


async def test_a_handler_changing_its_job_options_is_heard(r, server_url: str) -> None:
    """Jobs of one kind share their completion arguments, unless the handler touched the
    options: then bullmq reads them afresh, as its own Worker would."""
    await add_jobs(server_url, "tweak", [{}], per_kind=4)

    async def handler(job: Any) -> None:
        if job.data["n"] == 2:
            job.opts["removeOnComplete"] = True

    result = await DrainEngine(r, "bull", {"tweak": handler}).drain(DrainOptions(("tweak",)))
    assert result.queues["tweak"].jobs_processed == 4
    kept = await r.zrange("bull:tweak:completed", 0, -1)
    assert len(kept) == 3 and "3" not in kept  # job 3 holds data n=2
    assert not await r.exists("bull:tweak:3")


async def test_a_flushed_script_is_loaded_again(r, server_url: str) -> None:
    await add_jobs(server_url, "flush", [{}], per_kind=6)

    async def handler(job: Any) -> None:
        if job.data["n"] == 2:
            await r.script_flush()

    result = await DrainEngine(r, "bull", {"flush": handler}).drain(DrainOptions(("flush",)))
    assert (result.queues["flush"].jobs_processed, result.total_failed) == (6, 0)
    assert await r.zcard("bull:flush:completed") == 6


async def test_connections_closed_while_a_handler_runs_are_opened_again(r, server_url: str) -> None:
    """The queue's completions keep their connection through the handler; closed meanwhile
    (here by the client's own pool, as a shutdown does), it is connected again."""
    await add_jobs(server_url, "closed", [{}], per_kind=6)
    client = connect(server_url)

    async def handler(job: Any) -> None:
        if job.data["n"] in (1, 4):
            await client.connection_pool.disconnect(inuse_connections=True)

    try:
        result = await DrainEngine(client, "bull", {"closed": handler}).drain(
            DrainOptions(("closed",))
        )
    finally:
        await client.aclose()
    run = result.queues["closed"]
    assert (run.jobs_processed, run.jobs_failed, run.lost_locks) == (6, 0, 0)
    assert await r.zcard("bull:closed:completed") == 6


async def test_a_drain_of_quick_jobs_opens_no_other_connection(r, server_url: str) -> None:
    """The completions keep their connection from one job to the next and give it back at the
    end of the run: the drain's other commands find it in the pool, and no second connection
    (whose handshake costs commands) is opened for them."""
    await add_jobs(server_url, "reuse", [{}], per_kind=5)
    client = connect(server_url)
    try:
        await client.ping()
        before = (await r.info("stats"))["total_connections_received"]
        engine = DrainEngine(client, "bull", {"reuse": _quick})
        result = await engine.drain(DrainOptions(("reuse",)))
        assert result.queues["reuse"].jobs_processed == 5
        assert (await r.info("stats"))["total_connections_received"] == before
    finally:
        await client.aclose()


async def _quick(job: Any) -> str:
    return "ok"


@pytest.mark.parametrize("max_connections", [None, 1, 2])
async def test_handlers_commands_find_a_connection(server_url: str, max_connections) -> None:
    """The completions keep a connection only where the pool allows: with a bounded pool (the
    web app's), even one of a single connection, the handler's own commands and the lock
    renewal still get one."""
    await add_jobs(server_url, "chatty", [{}], per_kind=5)
    client = connect(server_url, max_connections=max_connections)

    async def handler(job: Any) -> str:
        await job.updateProgress(50)
        await job.log("half way")
        return "done"

    try:
        engine = DrainEngine(client, "bull", {"chatty": handler})
        result = await engine.drain(DrainOptions(("chatty",), concurrency=2))
        assert (result.queues["chatty"].jobs_processed, result.total_failed) == (5, 0)
        done = await client.zrange("bull:chatty:completed", 0, -1)
        assert len(done) == 5
        for job_id in done:
            assert await client.hget(f"bull:chatty:{job_id}", "progress") == "50"
            assert await client.lrange(f"bull:chatty:{job_id}:logs", 0, -1) == ["half way"]
    finally:
        await client.aclose()


async def test_a_drain_small_beside_a_bounded_pool_keeps_its_connections(server_url: str) -> None:
    """The web app's pool of 20 and a drain of 2 queues: each queue keeps its completions'
    connection from one to the next instead of a checkout per job, and the handler's own
    commands still find one."""
    await add_jobs(server_url, "steady", [{}], per_kind=50)
    client = connect(server_url, max_connections=20)
    pool = client.connection_pool
    checkouts = 0
    checkout = pool.get_connection

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal checkouts
        checkouts += 1
        return await checkout(*args, **kwargs)

    pool.get_connection = counted  # type: ignore[method-assign]

    async def handler(job: Any) -> str:
        await job.updateProgress(50)
        return "done"

    try:
        engine = DrainEngine(client, "bull", {"steady": handler})
        result = await engine.drain(DrainOptions(("steady",), max_concurrent_queues=2))
        assert (result.queues["steady"].jobs_processed, result.total_failed) == (50, 0)
        assert await client.zcard("bull:steady:completed") == 50
        # Each handler's updateProgress takes one; the completions take none past the first.
        assert checkouts < 50 + 20, checkouts
    finally:
        await client.aclose()


async def test_a_queues_slots_complete_their_jobs_on_one_connection(r, server_url: str) -> None:
    """As Node BullMQ's Worker does: the slots' completions share one connection, so Redis
    reads those that arrive together in one read and answers them in one write."""
    await add_jobs(server_url, "shared", [{}], per_kind=40)
    client = connect(server_url)
    watcher = aioredis.Redis.from_url(server_url, decode_responses=True)
    senders: dict[str, set[str]] = {}  # each script's, by its SHA

    async def watch(monitor: Any) -> None:
        while True:
            command = await monitor.next_command()
            name, sha, *_ = command["command"].split()
            if name.upper() == "EVALSHA":
                address = f"{command['client_address']}:{command['client_port']}"
                senders.setdefault(sha, set()).add(address)

    try:
        async with watcher.monitor() as monitor:
            watching = asyncio.ensure_future(watch(monitor))
            engine = DrainEngine(client, "bull", {"shared": _quick})
            result = await engine.drain(DrainOptions(("shared",), concurrency=4))
            await r.ping()  # MONITOR has relayed everything the drain sent
            await asyncio.sleep(0.1)
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
    finally:
        await client.aclose()
        await watcher.aclose()
    assert (result.queues["shared"].jobs_processed, result.total_failed) == (40, 0)
    script = Worker("shared", None, {"connection": r}).scripts.commands["moveToFinished"].script
    sha = hashlib.sha1(counted_source(script).encode()).hexdigest()
    assert len(senders[sha]) == 1, senders
    assert len(set().union(*senders.values())) > 1  # the slots' own moveToActive calls


async def test_completions_abandoned_on_the_way_leave_no_answer_behind(r, server_url) -> None:
    """Past maxDurationMs, a completion Redis has not answered yet is abandoned: its answer,
    coming later, must not be read as the answer to the next command on that connection."""
    await add_jobs(server_url, "late", [{}], per_kind=3)
    client = connect(server_url)
    paused = False

    async def handler(job: Any) -> None:
        nonlocal paused
        if not paused:  # the first job's completion waits out a pause of the server's writes
            paused = True
            await r.client_pause(600, all=False)

    try:
        engine = DrainEngine(client, "bull", {"late": handler})
        result = await engine.drain(DrainOptions(("late",), max_duration_ms=200))
        assert result.queues["late"].stopped == "maxDurationMs"
        # Every connection of the pool answers its own commands, the drain's included.
        for n in range(5):
            await client.set(f"k{n}", n)
        assert await client.mget([f"k{n}" for n in range(5)]) == ["0", "1", "2", "3", "4"]
    finally:
        await client.aclose()


async def test_a_drain_cancelled_from_outside_stops_its_slots(r, server_url: str) -> None:
    """A shutdown cancelling the drain stops every slot with it: none takes another job (or a
    connection) after the drain has given its connections back."""
    await add_jobs(server_url, "halted", [{}], per_kind=12)

    async def slow(job: Any) -> str:
        await asyncio.sleep(0.1)
        return "ok"

    client = connect(server_url, max_connections=20)
    try:
        engine = DrainEngine(client, "bull", {"halted": slow})
        drain = asyncio.ensure_future(engine.drain(DrainOptions(("halted",), concurrency=3)))
        await asyncio.sleep(0.15)
        drain.cancel()
        await asyncio.gather(drain, return_exceptions=True)
        finished = await r.zcard("bull:halted:completed")
        await asyncio.sleep(0.4)
        assert await r.zcard("bull:halted:completed") == finished < 12
        assert not client.connection_pool._in_use_connections
    finally:
        await client.aclose()
