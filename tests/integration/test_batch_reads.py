"""Batched reads (redis_client/batch.py): the overview's counts and a page's job hashes, sent in
one write and read straight from hiredis, must answer what redis-py's pipeline answers, leave
no reply behind on a pooled connection, and survive a dropped connection as redis-py does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from dashboard.redis_client import batch
from dashboard.redis_client import connection as connection_module
from dashboard.redis_client.batch import Batch
from dashboard.redis_client.connection import connect
from dashboard.redis_client.counting import tally
from tests.helpers import executed_commands


async def _fill(r: aioredis.Redis | aioredis.RedisCluster, keys: list[str]) -> None:
    for n, key in enumerate(keys):
        await r.rpush(f"{key}:list", *[f"j{i}" for i in range(n + 1)])
        await r.zadd(f"{key}:set", {f"m{i}": i for i in range(n + 2)})
        await r.hset(f"{key}:hash", mapping={"name": f"job {key} é", "n": str(n)})


def _every_kind(keys: list[str]) -> Batch:
    reads = Batch()
    for key in [*keys, "{x}missing"]:
        reads.llen(f"{key}:list")
        reads.zcard(f"{key}:set")
        reads.hmget(f"{key}:hash", "name", "absent", "n")
        reads.hget(f"{key}:hash", "name")
        reads.lrange(f"{key}:list", 0, 1)
        reads.zrevrange(f"{key}:set", 0, 2)
        reads.hgetall(f"{key}:hash")
        reads.zscore(f"{key}:set", "m1")
        reads.zscore(f"{key}:set", "absent")
        reads.lpos(f"{key}:list", "j0")
        reads.lpos(f"{key}:list", "absent")
    return reads


async def _by_redis_py(client: aioredis.Redis | aioredis.RedisCluster, reads: Batch) -> list:
    pipe = client.pipeline(transaction=False)
    for command in reads.commands:
        pipe.execute_command(*command)
    return list(await pipe.execute())


async def test_a_batch_answers_what_redis_pys_pipeline_answers(server_url: str) -> None:
    keys = [f"{{t{n}}}k" for n in range(5)]
    client = connect(server_url)
    try:
        await client.flushdb()
        await _fill(client, keys)
        reads = _every_kind(keys)
        with tally() as spent:
            replies = await batch.read(client, reads)
        assert replies == await _by_redis_py(client, reads)
        assert replies[:3] == [1, 2, ["job {t0}k é", None, "0"]]
        assert replies[6:11] == [{"name": "job {t0}k é", "n": "0"}, 1.0, None, 0, None]
        assert spent.commands == len(reads)
    finally:
        await client.aclose()


async def test_a_batch_on_a_cluster_asks_each_node_for_its_keys(cluster_url: str) -> None:
    # Hash tags spread over the three nodes: the replies come back in the order asked.
    keys = [f"{{tenant-{n:04d}}}k" for n in range(30)]
    client = connect(cluster_url, cluster=True)
    try:
        await _fill(client, keys)
        reads = _every_kind(keys)
        nodes = {client.get_node_from_key(command[1]).name for command in reads.commands}
        assert len(nodes) == 3
        with tally() as spent:
            replies = await batch.read(client, reads)
        assert replies == await _by_redis_py(client, reads)
        assert spent.commands == len(reads)
    finally:
        await client.aclose()


async def test_a_refused_command_raises_as_redis_py_would(server_url: str) -> None:
    client = connect(server_url)
    try:
        await client.flushdb()
        await client.set("plain", "x")
        reads = Batch()
        reads.llen("plain")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await batch.read(client, reads)
        # The connection went back to the pool with nothing left unread on it.
        assert await client.get("plain") == "x"
    finally:
        await client.aclose()


async def test_a_read_cut_short_leaves_no_reply_for_the_next_user(server_url: str) -> None:
    """Cancelled after its commands were sent (a page's deadline, a closed browser tab), a batch
    must not leave its replies on the pooled connection: the next command would read them as
    its own answer."""
    client = connect(server_url, max_connections=1)
    try:
        await client.flushdb()
        await client.rpush("big", *range(1000))
        reads = Batch()
        for _ in range(3000):
            reads.lrange("big", 0, -1)
        task = asyncio.create_task(batch.read(client, reads))
        for _ in range(100):  # until its commands are on the wire and replies are coming in
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.set("mine", "answer")
        assert await client.get("mine") == "answer"
        assert await client.llen("big") == 1000
    finally:
        await client.aclose()


async def test_a_dropped_connection_is_read_again_on_a_new_one(server_url: str) -> None:
    client = connect(server_url)
    killer = aioredis.Redis.from_url(server_url)
    try:
        await client.flushdb()
        await client.rpush("l", "a", "b")
        reads = Batch()
        reads.llen("l")
        assert await batch.read(client, reads) == [2]
        # The pooled connection is cut while idle, as a proxy's idle timeout would.
        await killer.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        before = await executed_commands(killer)
        with tally() as spent:
            assert await batch.read(client, reads) == [2]
        # Sent again on a new connection: the read and the new connection's handshake, counted
        # as Redis executed them.
        assert spent.commands == await executed_commands(killer) - before
        assert spent.commands >= 2
    finally:
        await client.aclose()
        await killer.aclose()


def _timers_set(loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The times of the timers the current task asks the loop for from now on (asyncio.timeout
    and call_later both end in call_at); other tasks' are not counted."""
    asked: list[float] = []
    call_at = loop.call_at
    reading = asyncio.current_task()

    def counted(when: float, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        if asyncio.current_task() is reading:
            asked.append(when)
        return call_at(when, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counted)
    return asked


async def test_reads_on_an_idle_pool_set_no_timer_each(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkout of an idle pooled connection and the read's deadline cost no timer of
    their own (some 14 µs and 4-9 µs a read with redis-py's Condition and asyncio.timeout): a
    hundred reads set one timer, for the earliest deadline."""
    client = connect(server_url, max_connections=2)
    try:
        await client.rpush("timers", "a")
        reads = Batch()
        reads.llen("timers")
        assert await batch.read(client, reads) == [1]
        asked = _timers_set(asyncio.get_running_loop(), monkeypatch)
        for _ in range(100):
            assert await batch.read(client, reads) == [1]
        assert len(asked) <= 1
    finally:
        await client.aclose()


@pytest.mark.parametrize("internals", ["as pinned", "moved"])
async def test_the_pool_hands_out_only_clean_connections_and_stays_bounded(
    server_url: str, internals: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What redis-py's pool guarantees, kept by the cheaper checkout: a connection left with a
    reply unread or closed by the server is not handed out as it is; past the bound a checkout
    waits, is handed the connection given back, or fails with "No connection available.".
    Kept too where redis-py's private state is not where the fast path looks for it (a
    release that moved it): every checkout then takes redis-py's own path."""
    if internals == "moved":
        monkeypatch.setattr(connection_module, "recorder", object())
    client = connect(server_url, max_connections=1)
    killer = aioredis.Redis.from_url(server_url)
    pool = client.connection_pool
    try:
        pool.timeout = 0.2
        connection = await pool.get_connection()
        await connection.send_command("ECHO", "left behind")  # its reply is never read
        await asyncio.sleep(0.05)
        await pool.release(connection)
        assert await client.echo("mine") == "mine"

        connection = await pool.get_connection()
        await connection.send_command("CLIENT", "ID")
        killed = await connection.read_response()
        await pool.release(connection)
        await killer.client_kill_filter(_id=killed)
        await asyncio.sleep(0.05)  # the server's close has arrived
        assert await client.echo("after the kill") == "after the kill"

        held = await pool.get_connection()
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await pool.get_connection()
        waiting = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        await pool.release(held)
        assert await asyncio.wait_for(waiting, 1) is held
        await pool.release(held)
    finally:
        await client.aclose()
        await killer.aclose()
