"""The Redis health panel and the workers view on real servers."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from bullmq import Queue, Worker

from dashboard.config import Settings
from tests.helpers import make_client

API = "/admin/queues/api"


async def test_redis_health_from_one_info(server_url: str, r: aioredis.Redis) -> None:
    await r.config_set("maxmemory-policy", "noeviction")
    async with make_client(Settings(redis_url=server_url)) as http:
        health = (await http.get(f"{API}/redis")).json()
        assert health["memory"]["policy"] == "noeviction" and health["warning"] is None
        assert health["version"] and health["connectedClients"] >= 1
        assert health["memory"]["used"] > 0 and health["uptimeSeconds"] >= 0
        page = await http.get("/admin/queues/redis")
        assert page.status_code == 200 and "data-eviction-warning" not in page.text
        await r.config_set("maxmemory-policy", "allkeys-lru")
        try:
            health = (await http.get(f"{API}/redis")).json()
            assert "loses jobs" in health["warning"]
            page = await http.get("/admin/queues/redis")
            assert "data-eviction-warning" in page.text and "allkeys-lru" in page.text
        finally:
            await r.config_set("maxmemory-policy", "noeviction")


async def test_a_server_refusing_info_gets_a_sentence(server_url: str, r: aioredis.Redis) -> None:
    """A managed Redis that disables INFO and CLIENT: an ACL user without them."""
    await r.acl_setuser(
        "limited",
        enabled=True,
        passwords=["+pw"],
        keys=["*"],
        commands=["+@all", "-info", "-client"],
    )
    host = server_url.removeprefix("redis://")
    async with make_client(Settings(redis_url=f"redis://limited:pw@{host}")) as http:
        answer = await http.get(f"{API}/redis")
        assert answer.status_code == 503
        assert "refused INFO" in answer.json()["error"]
        page = await http.get("/admin/queues/redis")
        assert page.status_code == 200 and "refused INFO" in page.text
        await Queue("mail", {"connection": server_url}).close()
        await r.hset("bull:mail:meta", "opts.maxLenEvents", 10000)
        page = await http.get("/admin/queues/workers")
        assert page.status_code == 200 and "refused CLIENT LIST" in page.text
    await r.acl_deluser("limited")


async def test_workers_by_kind_and_the_unserved_warning(server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("j", {})
    other = Queue("sms", {"connection": server_url})
    await other.add("j", {})
    async with make_client(Settings(redis_url=server_url)) as http:
        page = await http.get("/admin/queues/workers")
        assert page.text.count("data-unserved") == 2  # waiting jobs, nobody to take them

        async def nothing(job, token):
            return None

        worker = Worker("mail", nothing, {"connection": server_url})
        await asyncio.sleep(0.5)  # the worker names its connection on start
        try:
            answer = (await http.get(f"{API}/queues/mail/workers")).json()
            assert answer["queue"] == "mail"
            assert answer["pythonWorkers"], answer
            assert all(c["name"] == "bull:mail" for c in answer["pythonWorkers"])
            assert answer["nodeWorkers"] == [] and answer["queueEvents"] == []
            # The dashboard's own connection is named, and never counted as a worker.
            assert any(c["name"].startswith("drainboard:") for c in answer["drainboard"])
            sms = (await http.get(f"{API}/queues/sms/workers")).json()
            assert sms["pythonWorkers"] == []
            page = await http.get("/admin/queues/workers")
            assert page.text.count("data-unserved") == 1  # sms only
            assert (await http.get(f"{API}/queues/nope/workers")).status_code == 404
        finally:
            await worker.close()
    await queue.close()
    await other.close()


def test_node_connection_names_are_recognised() -> None:
    from dashboard.observe.clients import identify

    queues = {"mail", "a b"}
    assert identify("bull:bWFpbA==", "bull", queues)[:2] == ("node-worker", "mail")
    assert identify("bull:bWFpbA==:qe", "bull", queues)[:2] == ("queue-events", "mail")
    assert identify("bull:a b", "bull", queues)[:2] == ("python-worker", "a b")
    assert identify("bull:mail:w:drainboard-always", "bull", queues)[:2] == ("drainboard", "mail")
    assert identify("drainboard:web", "bull", queues)[:2] == ("drainboard", None)
    assert identify("bull:unknown", "bull", queues) is None
    assert identify("", "bull", queues) is None
