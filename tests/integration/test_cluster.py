"""Drainboard on a real three-node Redis Cluster: detection, hash tags, reads, actions, drains,
the cost measurement and /metrics. Jobs are written through the `bullmq` package on a cluster
client, as a Python producer would; tests/interop/test_cluster_interop.py does it with Node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from bullmq import Worker
from redis.asyncio.cluster import RedisCluster

from dashboard.bullmq.keys import shares_one_slot
from dashboard.config import ConfigError, Settings
from dashboard.observe.measure import measure
from dashboard.redis_client.connection import cluster_mode, connect, is_cluster
from dashboard.web import create_app
from tests.helpers import add_jobs, make_client
from tests.redis_cluster import RedisClusterForTests

BEARER = {"Authorization": "Bearer t"}
API = "/admin/queues/api"


@pytest.fixture
async def rc(cluster_url: str) -> AsyncIterator[RedisCluster]:
    client = connect(cluster_url, cluster=True)
    yield client
    await client.aclose()


async def test_cluster_is_detected_from_any_node(
    redis_cluster: RedisClusterForTests, redis7_url: str
) -> None:
    assert all(cluster_mode(node.url, None) for node in redis_cluster.nodes)
    assert cluster_mode(redis7_url, None) is False
    assert cluster_mode(redis7_url, True) is True  # forced: --cluster, REDIS_CLUSTER=1
    client = create_app(Settings(redis_url=redis_cluster.url)).state.board.redis
    assert is_cluster(client)
    await client.aclose()
    assert Settings.from_env({"REDIS_CLUSTER": "1"}).cluster is True
    assert Settings.from_env({}).cluster is None


def test_hash_tag_rule() -> None:
    assert shares_one_slot("{bull}", "mail")
    assert shares_one_slot("bull", "{tenant-7}")
    assert not shares_one_slot("bull", "mail")
    assert not shares_one_slot("bull", "{}mail")  # an empty tag hashes the whole key


def test_tagless_prefix_with_named_queues_is_refused_at_start(cluster_url: str) -> None:
    with pytest.raises(ConfigError, match=r"span slots.*\{bull\}"):
        create_app(Settings(redis_url=cluster_url, queues=("mail", "sms")))


async def test_tagless_prefix_overview_says_why_no_queue_shows(
    cluster_url: str, rc: RedisCluster
) -> None:
    await add_jobs(rc, "{bull}", "mail", 1)
    async with make_client(Settings(redis_url=cluster_url)) as http:
        page = await http.get("/admin/queues/")
        assert page.status_code == 200
        assert "has no hash tag" in page.text and "No BullMQ queues found" in page.text


async def test_counts_pages_and_actions_on_a_cluster(cluster_url: str, rc: RedisCluster) -> None:
    """Queues on different nodes (each named with its own hash tag) and the `{bull}` prefix's
    queues: counts, a job page, a job, and every kind of action through bullmq's scripts."""
    tagged = [f"{{t{i}}}" for i in range(6)]
    slots = {rc.keyslot(f"bull:{q}:wait") for q in tagged}
    assert len(slots) == 6
    for queue in tagged:
        await add_jobs(rc, "bull", queue, 2)
        await add_jobs(rc, "bull", queue, 1, delay=3_600_000)
    async with make_client(Settings(redis_url=cluster_url, token="t")) as http:
        body = (await http.get(f"{API}/queues", headers=BEARER)).json()
        assert [q["name"] for q in body["queues"]] == sorted(tagged)
        assert all(
            q["counts"]["waiting"] == 2 and q["counts"]["delayed"] == 1 for q in body["queues"]
        )

        queue = tagged[3]
        path = f"{API}/queues/%7Bt3%7D"
        page = (await http.get(f"{path}/jobs?status=waiting", headers=BEARER)).json()
        assert page["total"] == 2 and len(page["jobs"]) == 2
        job = (await http.get(f"{path}/jobs/{page['jobs'][0]['id']}", headers=BEARER)).json()
        assert job["state"] == "waiting" and job["data"]["i"] in (0, 1)

        promoted = await http.post(f"{path}/promote", headers=BEARER)
        assert promoted.json()["count"] == 1
        paused = await http.post(f"{path}/pause", headers=BEARER)
        assert paused.status_code == 200
        cleaned = await http.post(f"{path}/clean?status=waiting&grace=0", headers=BEARER)
        assert cleaned.json()["count"] == 3
        counts = (await http.get(f"{API}/queues", headers=BEARER)).json()["queues"]
        mine = next(q for q in counts if q["name"] == queue)
        assert mine["isPaused"] and sum(mine["counts"].values()) == 0
        # The other queues were not touched.
        assert all(sum(q["counts"].values()) == 3 for q in counts if q["name"] != queue)


async def test_metrics_and_drain_on_a_cluster(cluster_url: str, rc: RedisCluster) -> None:
    await add_jobs(rc, "{bull}", "mail", 5)
    await add_jobs(rc, "{bull}", "noop", 2)
    settings = Settings(
        redis_url=cluster_url,
        prefix="{bull}",
        token="t",
        processors="tests.drain_processors:PROCESSORS",
    )
    async with make_client(settings) as http:
        metrics = (await http.get("/metrics", headers=BEARER)).text
        assert 'bullmq_jobs{queue="mail",state="waiting"} 5' in metrics
        assert 'bullmq_jobs{queue="noop",state="waiting"} 2' in metrics
        drained = (await http.post(f"{API}/drain", headers=BEARER)).json()
        assert drained["totalProcessed"] == 7, drained
        metrics = (await http.get("/metrics", headers=BEARER)).text
        assert 'bullmq_jobs{queue="mail",state="completed"} 5' in metrics


async def test_cost_measurement_sums_every_primary(cluster_url: str, rc: RedisCluster) -> None:
    """INFO and CLIENT LIST on each of the three primaries: commands sent to any node count."""
    measuring = connect(cluster_url, cluster=True)
    try:
        task = measure(measuring, "{bull}", [], 1.0)
        running = asyncio.ensure_future(task)
        await asyncio.sleep(0.2)
        # One SET on every primary while the measurement runs.
        await rc.initialize()
        assert len(rc.get_primaries()) == 3
        for node in rc.get_primaries():
            key = next(f"k{i}" for i in range(10_000) if rc.get_node_from_key(f"k{i}") == node)
            await rc.set(key, "1")
        result = await running
    finally:
        await measuring.aclose()
    assert result.primaries == 3, result
    assert "set" in result.per_minute, result.per_minute
    assert result.per_minute["set"] * result.seconds / 60 == pytest.approx(3, abs=0.5)
    addresses = {c.name for c in result.connections}
    assert len(result.connections) >= 3, addresses


async def test_workers_are_found_on_the_node_of_their_queue(
    cluster_url: str, rc: RedisCluster
) -> None:
    """A worker blocks on the node holding its queue's slot: CLIENT LIST of every primary."""
    await rc.initialize()
    default = rc.get_default_node().name
    names = (f"{{w{i}}}" for i in range(100))
    queue = next(q for q in names if rc.get_node_from_key(f"bull:{q}:wait").name != default)
    await add_jobs(rc, "bull", queue, 1, delay=3_600_000)

    async def process(job, token):
        return None

    own = connect(cluster_url, socket_timeout=None, cluster=True)
    worker = Worker(queue, process, {"connection": own})
    try:
        async with make_client(Settings(redis_url=cluster_url)) as http:
            blocked = []
            for _ in range(50):  # until the worker has started its blocking wait
                answer = (await http.get(f"{API}/queues/{quote(queue, safe='')}/workers")).json()
                blocked = [c for c in answer["pythonWorkers"] if c["lastCommand"] == "bzpopmin"]
                if blocked:
                    break
                await asyncio.sleep(0.1)
            assert blocked, answer
    finally:
        await worker.close()
        await own.aclose()
