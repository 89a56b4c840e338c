"""Failover on a real three-node Redis Cluster without replicas.

Stopping a primary that holds none of the queues' keys leaves the dashboard serving; stopping
the one that holds them (every `{bull}` key shares one slot) makes it answer 503 in one
sentence, and it serves again, with the same counts, once that node is back in the cluster.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from bullmq import Queue

from dashboard.config import Settings
from dashboard.redis_client.connection import connect
from tests.helpers import make_client
from tests.redis_cluster import RedisClusterForTests

BEARER = {"Authorization": "Bearer t"}
QUEUES = "/admin/queues/api/queues"


async def served(http: httpx.AsyncClient, timeout: float = 30) -> httpx.Response:
    """The queue list once the dashboard answers 200 again (it reconnects by itself)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await http.get(QUEUES, headers=BEARER)
        if answer.status_code == 200 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.2)


def without_latency(answer: dict) -> dict:
    """The answer less each queue's latency, which grows while the test runs."""
    queues = [{k: v for k, v in q.items() if k != "latency"} for q in answer["queues"]]
    return {**answer, "queues": queues}


async def test_failover_serves_without_a_bystander_503s_without_the_holder_then_recovers(
    redis_cluster: RedisClusterForTests, cluster_url: str
) -> None:
    rc = connect(cluster_url, cluster=True)
    for name, count in (("mail", 3), ("sms", 2)):
        queue = Queue(name, {"connection": rc, "prefix": "{bull}"})
        for i in range(count):
            await queue.add("job", {"i": i})
    await rc.aclose()
    holder = redis_cluster.node_for_key("{bull}:mail:wait")
    bystander = next(node for node in redis_cluster.nodes if node is not holder)
    # The URL names the bystander: the client must find the holder through it, and go on
    # without it.
    settings = Settings(redis_url=bystander.url, prefix="{bull}", token="t")
    try:
        async with make_client(settings) as http:
            before = await http.get(QUEUES, headers=BEARER)
            assert before.status_code == 200
            counts = {q["name"]: q["counts"]["waiting"] for q in before.json()["queues"]}
            assert counts == {"mail": 3, "sms": 2}

            bystander.stop()
            for _ in range(5):
                during = await http.get(QUEUES, headers=BEARER)
                assert during.status_code == 200, during.text
                assert without_latency(during.json()) == without_latency(before.json())
            bystander.start()
            redis_cluster.wait_healthy()

            holder.stop()
            down = await http.get(QUEUES, headers=BEARER)
            assert down.status_code == 503
            assert down.json()["status"] == 503 and "Redis" in down.json()["error"]
            page = await http.get("/admin/queues/", headers=BEARER)
            assert page.status_code == 503 and "Traceback" not in page.text

            holder.start()
            redis_cluster.wait_healthy()
            after = await served(http)
            assert after.status_code == 200, after.text
            assert without_latency(after.json()) == without_latency(before.json())
    finally:
        for node in redis_cluster.nodes:
            if node.process is None:
                node.start()
        redis_cluster.wait_healthy()
