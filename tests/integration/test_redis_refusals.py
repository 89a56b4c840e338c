"""Redis refusing a command: out of memory under `noeviction`, or an ACL user without the
command. Each answer names the cause in one sentence (507 or 503), never a 500, and nothing is
changed. Each test runs on a server of its own, as it changes the server's settings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from bullmq import Queue, Worker
from redis.exceptions import OutOfMemoryError

from dashboard.config import Settings
from tests.helpers import make_client

BEARER = {"Authorization": "Bearer s3cret"}
BASE = "/admin/queues"
API = f"{BASE}/api/queues/mail"


async def make_jobs(url: str) -> dict[str, str]:
    """A waiting, a delayed and a failed job in `mail`, made through the bullmq package."""
    queue = Queue("mail", {"connection": url})
    worker = Worker("mail", None, {"connection": url, "autorun": False})
    token = uuid.uuid4().hex
    bad = await queue.add("welcome", {"to": "b@example.com"})
    job = await worker.getNextJob(token)
    try:
        raise ValueError("mailbox full")
    except ValueError as err:
        await job.moveToFailed(err, token)
    ids = {"failed": bad.id}
    ids["waiting"] = (await queue.add("welcome", {"to": "c@example.com"})).id
    ids["delayed"] = (await queue.add("reminder", {"n": 1}, {"delay": 60_000})).id
    await worker.close(force=True)
    await queue.close()
    return ids


async def snapshot(r: aioredis.Redis) -> dict[bytes, bytes]:
    """Every key of the queue, as DUMP gives it: what "nothing was changed" compares."""
    return {key: await r.dump(key) async for key in r.scan_iter("bull:mail:*")}


@pytest.fixture
async def r(own_server_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(own_server_url)
    yield client
    await client.aclose()


async def test_out_of_memory_is_507_and_changes_nothing(
    own_server_url: str, r: aioredis.Redis
) -> None:
    ids = await make_jobs(own_server_url)
    async with make_client(Settings(redis_url=own_server_url, token="s3cret")) as http:
        http.headers.update(BEARER)
        assert (await http.get(f"{API}/jobs/{ids['waiting']}")).status_code == 200
        await r.config_set("maxmemory-policy", "noeviction")
        # A limit of one byte: every write that may grow the data is refused, whatever the
        # server's memory does meanwhile (a limit just under its use was not always under it:
        # Redis frees client buffers as it goes).
        await r.config_set("maxmemory", 1)
        try:
            with pytest.raises(OutOfMemoryError):
                await r.set("ballast", "x")
            before = await snapshot(r)
            job = f"{API}/jobs/{ids['waiting']}"
            answers = {
                "add": await http.post(f"{API}/jobs", json={"name": "n", "data": {"a": 1}}),
                "duplicate": await http.post(f"{job}/duplicate"),
                "edit data": await http.put(f"{job}/data", json={"a": 2}),
                "pause": await http.post(f"{API}/pause"),
                "concurrency": await http.post(f"{API}/concurrency", json={"concurrency": 3}),
                "htmx add": await http.post(
                    f"{API}/jobs", json={"name": "n", "data": "{}"}, headers={"HX-Request": "1"}
                ),
            }
            for route, answer in answers.items():
                assert answer.status_code == 507, (route, answer.status_code, answer.text)
                assert "Redis is out of memory" in answer.text, (route, answer.text)
                assert "raise maxmemory" in answer.text
            assert answers["add"].json()["status"] == 507
            assert await snapshot(r) == before
        finally:
            await r.config_set("maxmemory", 0)
        assert (await http.post(f"{API}/pause")).status_code == 200


async def test_a_user_without_writes_gets_503_naming_the_command(
    own_server_url: str, r: aioredis.Redis
) -> None:
    ids = await make_jobs(own_server_url)
    await r.execute_command(
        "ACL", "SETUSER", "reader", "on", ">pw", "~*", "&*", "+@read", "+@connection"
    )
    before = await snapshot(r)
    url = own_server_url.replace("redis://", "redis://reader:pw@")
    job = f"{API}/jobs"
    try:
        async with make_client(Settings(redis_url=url, token="s3cret")) as http:
            http.headers.update(BEARER)
            assert (await http.get(f"{API}/jobs/{ids['waiting']}")).status_code == 200
            writes = {
                "retry": http.post(f"{job}/{ids['failed']}/retry"),
                "promote": http.post(f"{job}/{ids['delayed']}/promote"),
                "remove": http.delete(f"{job}/{ids['waiting']}"),
                "retry all": http.post(f"{API}/retry"),
                "promote all": http.post(f"{API}/promote"),
                "clean": http.post(f"{API}/clean?status=failed"),
                "pause": http.post(f"{API}/pause"),
                "add": http.post(job, json={"name": "n", "data": {}}),
                "edit data": http.put(f"{job}/{ids['waiting']}/data", json={"a": 2}),
                "duplicate": http.post(f"{job}/{ids['waiting']}/duplicate"),
                "priority": http.post(f"{job}/{ids['waiting']}/priority", json={"priority": 2}),
                "delay": http.post(f"{job}/{ids['delayed']}/delay", json={"delay": 5}),
                "empty": http.post(f"{API}/empty"),
                "concurrency": http.post(f"{API}/concurrency", json={"concurrency": 3}),
                "rate limit": http.post(f"{API}/rate-limit", json={"max": 3, "duration": 100}),
                "pause all": http.post(f"{BASE}/api/pause-all"),
                "search": http.get(f"{BASE}/api/search?id={ids['waiting']}"),
                "search a state": http.get(f"{API}/search?status=waiting&name=w"),
            }
            for route, request in writes.items():
                answer = await request
                assert answer.status_code == 503, (route, answer.status_code, answer.text)
                error = answer.json()["error"]
                assert error.startswith("The Redis user this dashboard connects as may not run ")
                assert "ACL SETUSER" in error, error
            refused = await http.post(f"{API}/pause")
            assert "may not run EVALSHA" in refused.json()["error"]
    finally:
        await r.execute_command("ACL", "DELUSER", "reader")
    assert await snapshot(r) == before


async def test_cost_panel_says_what_the_user_may_not_read(
    own_server_url: str, r: aioredis.Redis
) -> None:
    await make_jobs(own_server_url)
    await r.execute_command(
        "ACL", "SETUSER", "quiet", "on", ">pw", "~*", "&*", "+@all", "-info", "-client"
    )
    url = own_server_url.replace("redis://", "redis://quiet:pw@")
    try:
        async with make_client(Settings(redis_url=url)) as http:
            live = await http.get(f"{BASE}/cost/live?measure=1")
            assert live.status_code == 200, live.text
            assert "This server refused " in live.text
            assert "INFO commandstats: " in live.text and "CLIENT LIST: " in live.text
            assert "Not measured: this server refused INFO commandstats." in live.text
            api = await http.get(f"{BASE}/api/cost?measure=1")
            assert api.status_code == 200 and len(api.json()["measured"]["refused"]) == 2
    finally:
        await r.execute_command("ACL", "DELUSER", "quiet")
