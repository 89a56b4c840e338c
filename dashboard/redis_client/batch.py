"""Many read commands in one write and one parse: the overview's 450 counts, a page's job hashes.

redis-py's pipeline spends about 10 µs of Python per command (building it, packing it, reading
its reply through two layers of parser wrappers); on an overview of 50 queues that was more than
Redis's own time. Here the commands are packed by hiredis in one call, written at once, and
their replies taken straight from the connection's hiredis reader. On a cluster the commands are
grouped by the node holding their key, and the nodes are asked at once.

Only a few read commands are offered, each answered as redis-py would answer it: most replies
are used as Redis sends them; HGETALL's and ZSCORE's get the shape redis-py's response
callbacks give them (a dict, a float) whichever protocol the connection speaks.

Anything unusual (a cluster slot that moved, a connection that dropped, a parser that is not
hiredis) is handed to redis-py's own pipeline, which knows how to redirect and reconnect; the
commands are then counted again, as sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import hiredis

# redis-py's hiredis parser: its reader and its way of reading more from the socket are used
# directly, so the replies are decoded exactly as redis-py's own would be.
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import ReadDeadline, count_reads


class Batch:
    """Read commands gathered for one round trip (per node on a cluster)."""

    __slots__ = ("commands", "shapes")

    def __init__(self) -> None:
        self.commands: list[tuple[Any, ...]] = []
        # Where a reply needs redis-py's shape: its index, and what makes it.
        self.shapes: list[tuple[int, Callable[[Any], Any]]] = []

    def __len__(self) -> int:
        return len(self.commands)

    def llen(self, key: str) -> None:
        self.commands.append(("LLEN", key))

    def zcard(self, key: str) -> None:
        self.commands.append(("ZCARD", key))

    def hget(self, key: str, field: str) -> None:
        self.commands.append(("HGET", key, field))

    def hmget(self, key: str, *fields: str) -> None:
        self.commands.append(("HMGET", key, *fields))

    def lrange(self, key: str, start: int, end: int) -> None:
        self.commands.append(("LRANGE", key, start, end))

    def zrevrange(self, key: str, start: int, end: int) -> None:
        self.commands.append(("ZREVRANGE", key, start, end))

    def zrange(self, key: str, start: int, end: int) -> None:
        self.commands.append(("ZRANGE", key, start, end))

    def sort_first(self, key: str, *options: str) -> None:
        """The first element's GET values of a list or sorted set in its own order (see
        bullmq/latency.py): SORT reads, and stores nothing without STORE."""
        self.commands.append(("SORT", key, "BY", "nosort", "LIMIT", 0, 1, *options))

    def lpos(self, key: str, element: str) -> None:
        self.commands.append(("LPOS", key, element))

    def hgetall(self, key: str) -> None:
        self.shapes.append((len(self.commands), _pairs))
        self.commands.append(("HGETALL", key))

    def zscore(self, key: str, member: str) -> None:
        self.shapes.append((len(self.commands), _score))
        self.commands.append(("ZSCORE", key, member))


# Under RESP3 (redis-py's default) Redis itself sends a map and a double; under RESP2, pairs
# and text.
def _pairs(reply: dict[Any, Any] | list[Any]) -> dict[Any, Any]:
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True))


def _score(reply: float | str | None) -> float | None:
    return None if reply is None else float(reply)


class _Fallback(Exception):
    """The fast path cannot answer; redis-py's pipeline will. `sent`: commands may have reached
    Redis already, so sending them again is counted again."""

    def __init__(self, sent: bool) -> None:
        super().__init__()
        self.sent = sent


async def read(client: Client, batch: Batch, source: str = "reads") -> list[Any]:
    """The replies, in order, counted as the current request's reads (and under `source` for
    /metrics), under one deadline. A command Redis refuses raises its error, as redis-py's
    pipeline would."""
    if not batch.commands:
        return []
    count_reads(len(batch), source)
    with ReadDeadline():
        try:
            if isinstance(client, RedisCluster):
                replies = await _on_cluster(client, batch.commands)
            else:
                replies = await _on_one(client, batch.commands)
        except _Fallback as fallback:
            if fallback.sent:
                count_reads(len(batch), source)
            # redis-py's response callbacks shape its replies themselves.
            replies = await _by_pipeline(client, batch.commands)
        else:
            for at, shape in batch.shapes:
                if not isinstance(replies[at], ResponseError):
                    replies[at] = shape(replies[at])
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies


async def _by_pipeline(client: Client, commands: list[tuple[Any, ...]]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)
    return list(await pipe.execute(raise_on_error=False))


async def _on_one(client: Any, commands: list[tuple[Any, ...]]) -> list[Any]:
    pool = client.connection_pool
    connection = await pool.get_connection()
    try:
        return await _exchange(connection, commands)
    finally:
        await pool.release(connection)


async def _on_cluster(client: RedisCluster, commands: list[tuple[Any, ...]]) -> list[Any]:
    await client.initialize()
    by_node: dict[str, tuple[Any, list[int]]] = {}
    for at, command in enumerate(commands):
        node = client.get_node_from_key(command[1])
        if node is None:
            raise _Fallback(sent=False)
        by_node.setdefault(node.name, (node, []))[1].append(at)
    groups = list(by_node.values())
    answers = await asyncio.gather(
        *(_on_node(node, [commands[at] for at in ats]) for node, ats in groups)
    )
    replies: list[Any] = [None] * len(commands)
    for (_, ats), answer in zip(groups, answers, strict=True):
        for at, reply in zip(ats, answer, strict=True):
            if isinstance(reply, AskError | TryAgainError | ClusterDownError):
                # The slot has moved (MovedError is an AskError) or is moving: redis-py's
                # pipeline follows it and refreshes its map of the slots.
                raise _Fallback(sent=True)
            replies[at] = reply
    return replies


async def _on_node(node: Any, commands: list[tuple[Any, ...]]) -> list[Any]:
    connection = node.acquire_connection()
    try:
        return await _exchange(connection, commands)
    finally:
        node.release(connection)


async def _exchange(connection: Any, commands: list[tuple[Any, ...]]) -> list[Any]:
    """Write every command, read every reply. A connection left with replies unread would hand
    them to its next user, so any failure or cancellation midway closes it."""
    if not isinstance(connection._parser, _AsyncHiredisParser):
        raise _Fallback(sent=False)
    # Typed loosely: redis-py leaves the parser's reader and its socket read untyped.
    parser: Any = connection._parser
    packed = b"".join(hiredis.pack_command(command) for command in commands)
    try:
        await connection.connect()
    except (RedisConnectionError, OSError) as err:
        raise _Fallback(sent=False) from err  # Redis unreachable: redis-py's error says so
    try:
        await connection.send_packed_command(packed, check_health=False)
        reader = parser._reader
        replies = []
        for _ in commands:
            reply = reader.gets()
            while reply is NOT_ENOUGH_DATA:
                await parser.read_from_socket()
                reply = reader.gets()
            replies.append(reply)
        return replies
    except (RedisConnectionError, OSError) as err:
        # A dropped connection (a restart, a proxy's idle cut): these are reads, so redis-py's
        # pipeline may send them again on a new connection, as its retry policy allows.
        await connection.disconnect()
        raise _Fallback(sent=True) from err
    except BaseException:
        await connection.disconnect()
        raise
