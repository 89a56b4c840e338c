"""The one way Drainboard opens a Redis client."""

from __future__ import annotations

from typing import Any

import hiredis
import redis.asyncio as redis
from redis.asyncio.connection import Connection

DEFAULT_REDIS_URL = "redis://localhost:6379"


class HiredisPackingConnection(Connection):
    """redis-py's asyncio connection encodes every command in pure Python (about 60 µs for a
    25-argument EVALSHA here); hiredis, already installed for parsing, does it in C."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:
            args = (*args[0].split(), *args[1:])
        return [hiredis.pack_command(args)]


# With a bounded pool, how long a command waits for a free connection before it gives up.
POOL_WAIT_S = 5.0


def connect(
    url: str, socket_timeout: float | None = None, max_connections: int | None = None
) -> redis.Redis:
    """A client that fails fast when Redis is unreachable. Reads carry their own deadline
    (reader.READ_TIMEOUT_S): redis-py's per-reply socket timeout costs a third of a page's time.

    With `max_connections`, the pool never opens more than that: a command beyond it waits up to
    POOL_WAIT_S for a connection to come back, then fails with "No connection available."
    """
    extra: dict[str, Any] = {}
    if url.startswith("redis://"):  # TLS and Unix sockets keep redis-py's own connection classes
        extra["connection_class"] = HiredisPackingConnection
    options: dict[str, Any] = dict(
        decode_responses=True,
        encoding_errors="replace",
        socket_connect_timeout=3,
        socket_timeout=socket_timeout,
        retry_on_timeout=False,
        **extra,
    )
    if max_connections is None:
        return redis.Redis.from_url(url, **options)
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=POOL_WAIT_S, **options
    )
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # aclose() closes the pool, as from_url's does
    return client
