"""Redis down or refusing us: a 503 in one sentence, then recovery without a restart."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.config import Settings
from dashboard.redis_client import counting
from dashboard.web.errors import REDIS_AUTH, REDIS_DOWN, REDIS_TIMEOUT
from tests.helpers import free_port, make_client, start_redis, wait_for


async def test_unreachable_then_recovers() -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}"
    async with make_client(Settings(redis_url=url, queues=("mail",))) as http:
        api = await http.get("/admin/queues/api/queues")
        assert api.status_code == 503
        assert api.json()["error"] == REDIS_DOWN
        page = await http.get("/admin/queues/")
        assert page.status_code == 503 and "unreachable" in page.text
        assert "Traceback" not in page.text

        server = start_redis(port)
        try:
            wait_for(url)
            recovered = await http.get("/admin/queues/api/queues")
            assert recovered.status_code == 200
        finally:
            server.terminate()
            server.wait(10)


async def test_wrong_password_is_named() -> None:
    port = free_port()
    server = start_redis(port, "--requirepass", "right")
    try:
        wait_for(f"redis://:right@127.0.0.1:{port}")
        async with make_client(Settings(redis_url=f"redis://:wrong@127.0.0.1:{port}")) as http:
            response = await http.get("/admin/queues/api/queues")
            assert response.status_code == 503
            assert response.json()["error"] == REDIS_AUTH
        async with make_client(Settings(redis_url=f"redis://127.0.0.1:{port}")) as http:
            response = await http.get("/admin/queues/api/queues")
            assert response.status_code == 503
            assert response.json()["error"] == REDIS_AUTH
    finally:
        server.terminate()
        server.wait(10)


async def test_a_redis_that_stops_answering_gets_a_503_at_the_read_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis accepts the commands and never answers (CLIENT PAUSE, as a stalled or overloaded
    server would): each read ends at its deadline with the one sentence, then recovers."""
    port = free_port()
    server = start_redis(port)
    url = f"redis://127.0.0.1:{port}"
    try:
        wait_for(url)
        queue = Queue("mail", {"connection": url})
        job = await queue.add("x", {})
        await queue.close()
        one_job = f"/admin/queues/api/queues/mail/jobs/{job.id}"
        async with make_client(Settings(redis_url=url, queues=("mail",))) as http:
            assert (await http.get(one_job)).status_code == 200  # connections open
            async with aioredis.Redis.from_url(url) as operator:
                await operator.client_pause(5000, all=True)
                monkeypatch.setattr(counting, "READ_TIMEOUT_S", 0.3)
                for path in (one_job, "/admin/queues/api/queues"):
                    stalled = await http.get(path)
                    assert stalled.status_code == 503, stalled.text
                    assert stalled.json()["error"] == REDIS_TIMEOUT
                await operator.client_unpause()
            assert (await http.get(one_job)).json()["id"] == job.id
    finally:
        server.terminate()
        server.wait(10)
