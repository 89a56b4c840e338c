"""A connection to Redis killed under an action (CLIENT KILL from another client) while Redis
itself stays up: a bulk retry says how many jobs it had moved, an add never stores a job twice
and says it may have been stored, and neither claims Redis is unreachable."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator

import redis
import redis.asyncio as aioredis

from dashboard.bullmq.keys import QueueKeys
from dashboard.config import Settings
from dashboard.web.errors import REDIS_DOWN
from tests.helpers import load_failed, make_client

BEARER = {"Authorization": "Bearer t"}
API = "/admin/queues/api/queues/bulk"
JOBS = 60_000
KEYS = QueueKeys("bull", "bulk")


@contextlib.asynccontextmanager
async def killing(url: str, start_below: int | None = None) -> AsyncIterator[None]:
    """Kill every other client's connection, again and again, until the block ends; with
    `start_below`, only once the failed set has shrunk below that (some chunks are done). The
    killer runs in a thread of its own, so the app's work on the event loop cannot slow it."""
    stop = threading.Event()

    def kill() -> None:
        killer = redis.Redis.from_url(url)
        try:
            while start_below is not None and not stop.is_set():
                if killer.zcard(KEYS.state("failed")) < start_below:
                    break
            while not stop.is_set():
                killer.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
                time.sleep(0.0002)
        finally:
            killer.close()

    thread = threading.Thread(target=kill, name="killer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 10)


async def test_bulk_retry_cut_short_says_how_far_it_got(own_server_url: str) -> None:
    r = aioredis.Redis.from_url(own_server_url)
    async with make_client(Settings(redis_url=own_server_url, token="t")) as http:
        http.headers.update(BEARER)
        # A kill must land twice on one command to cut the retry (one re-send is allowed), which
        # a loaded machine may not give in one go: up to six tries, each on fresh jobs.
        for _ in range(6):
            await r.flushdb()
            await load_failed(own_server_url, JOBS)
            assert (await http.get(f"{API}/jobs?status=failed")).status_code == 200
            async with killing(own_server_url, start_below=JOBS - 2_000):
                cut = await http.post(f"{API}/retry")
            if cut.status_code != 200:
                break
        moved = JOBS - await r.zcard(KEYS.state("failed"))
        assert cut.status_code == 503, cut.text
        error = cut.json()["error"]
        assert error.startswith("Retried at least "), error
        assert error.endswith(
            f" of {JOBS:,} failed jobs before the connection to Redis was lost; "
            "run it again to retry the rest."
        )
        said = int(error.split()[3].replace(",", ""))
        assert 1_000 <= said <= moved < JOBS
        rest = await http.post(f"{API}/retry")
        assert rest.status_code == 200 and rest.json()["count"] == JOBS - moved
    assert await r.zcard(KEYS.state("failed")) == 0
    await r.aclose()


async def test_an_add_cut_short_is_never_stored_twice(own_server_url: str) -> None:
    await load_failed(own_server_url, 1)
    r = aioredis.Redis.from_url(own_server_url)
    answers = []
    async with make_client(Settings(redis_url=own_server_url, token="t")) as http:
        http.headers.update(BEARER)
        assert (await http.get(f"{API}/jobs")).status_code == 200
        async with killing(own_server_url):
            for n in range(40):
                added = await http.post(f"{API}/jobs", json={"name": "n", "data": {"n": n}})
                answers.append(added)
    stored = await r.llen(KEYS.state("waiting"))
    await r.aclose()
    ok = [a for a in answers if a.status_code == 200]
    cut = [a for a in answers if a.status_code != 200]
    assert cut, "the killer never caught an add"
    for answer in cut:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] != REDIS_DOWN
    assert len(ok) <= stored <= len(answers)
    interrupted = [a for a in cut if "it may have been stored" in a.json()["error"]]
    assert stored <= len(ok) + len(interrupted)
