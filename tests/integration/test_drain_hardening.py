"""Drain and workers under stress: bad CLI numbers, a handler that blocks past its lock, the
watcher after a Redis restart, and the bounded connection pool."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time

import httpx
import pytest
import redis.asyncio as aioredis
from bullmq import Queue

from dashboard import cli
from dashboard.config import Settings
from dashboard.drain.engine import DrainEngine, DrainOptions
from dashboard.live import watcher as watch
from dashboard.redis_client import connection
from dashboard.web import create_app
from tests.helpers import free_port, start_redis, wait_for, watcher_for


@pytest.mark.parametrize(
    "flags",
    [
        ["--lock-duration-ms", "0"],
        ["--lock-duration-ms", "-100"],
        ["--max-jobs-per-queue", "0"],
        ["--max-jobs-per-queue", "-5"],
        ["--max-concurrent-queues", "0"],
        ["--concurrency", "-2"],
        ["--concurrency", "0"],
        ["--max-duration-ms", "0"],
    ],
)
def test_drain_flags_out_of_range_are_rc_2_with_one_sentence(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = cli.main(["drain", "--redis-url", "redis://127.0.0.1:1", *flags])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and flags[0] in err and "Traceback" not in err


async def test_a_handler_blocking_past_its_lock_costs_only_that_job(r, server_url: str) -> None:
    queue = Queue("blocky", {"connection": server_url})
    await queue.add("block", {"block": True})
    for n in range(3):
        await queue.add("quick", {"n": n})
    await queue.close()

    async def handler(job):
        if job.data.get("block"):
            time.sleep(0.6)  # blocks the event loop: the lock cannot be renewed
        return "ok"

    engine = DrainEngine(r, "bull", {"blocky": handler})
    result = await engine.drain(DrainOptions(queues=("blocky",), lock_duration_ms=200))
    run = result.queues["blocky"]
    assert run.lost_locks == 1 and run.jobs_processed == 3 and run.jobs_failed == 0
    assert result.as_json()["queues"]["blocky"]["lostLocks"] == 1
    # The lost job is still active; once its lock lapsed, the next drain's stalled check
    # returns it and runs it.
    assert await r.llen("bull:blocky:active") == 1
    again = await DrainEngine(r, "bull", {"blocky": lambda job: _ok()}).drain(
        DrainOptions(queues=("blocky",))
    )
    assert again.queues["blocky"].jobs_processed == 1
    assert await r.zcard("bull:blocky:completed") == 4


async def _ok() -> str:
    return "ok"


async def test_the_watcher_tells_pages_to_refresh_after_a_reconnect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The probe's case: a job added just after Redis came back, before the watcher returned."""
    monkeypatch.setattr(watch, "RETRY_S", 1.0)
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="drainboard-restart-")
    url = f"redis://127.0.0.1:{port}"
    server = start_redis(port, "--dir", workdir)
    try:
        wait_for(url)
        queue = Queue("mail", {"connection": url})
        await queue.add("before", {})
        await queue.close()
        watcher = watcher_for(url, ("mail",), block_ms=60_000)
        async with watcher.subscribe("mail") as sub:
            await asyncio.sleep(0.3)
            server.terminate()
            server.wait(10)
            server = start_redis(port, "--dir", workdir)
            wait_for(url)
            queue = Queue("mail", {"connection": url})
            await queue.add("after", {})  # while the watcher is still waiting to retry
            await queue.close()
            sub.changed.clear()
            await asyncio.wait_for(sub.changed.wait(), 10)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


async def connected_clients(r: aioredis.Redis) -> int:
    return (await r.info("clients"))["connected_clients"]


async def test_the_pool_is_bounded_and_queues_requests(r, server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("x", {})
    await queue.close()
    before = await connected_clients(r)
    app = create_app(Settings(redis_url=server_url, redis_max_connections=3))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answers = await asyncio.gather(
            *(http.get("/admin/queues/api/queues/mail/jobs?status=waiting") for _ in range(60))
        )
        assert [a.status_code for a in answers] == [200] * 60
        assert await connected_clients(r) - before <= 3
    await app.state.board.redis.aclose()


async def test_past_the_pool_a_request_waits_then_gets_503(
    r, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "POOL_WAIT_S", 0.3)
    app = create_app(Settings(redis_url=server_url, redis_max_connections=1))
    pool = app.state.board.redis.connection_pool
    held = await pool.get_connection()  # the only connection, busy elsewhere
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.get("/admin/queues/api/queues")
        assert answer.status_code == 503
        assert answer.json()["error"].startswith("Every Redis connection")
        assert answer.headers["retry-after"]
        await pool.release(held)
        assert (await http.get("/admin/queues/api/queues")).status_code == 200
    await app.state.board.redis.aclose()
