"""Search, adding and editing jobs, and queue-wide actions on a real three-node Redis Cluster,
with queues on different nodes (each named with its own hash tag)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster

from dashboard.bullmq import search
from dashboard.config import Settings
from dashboard.redis_client.connection import connect
from dashboard.redis_client.counting import SPENT, tally
from tests.helpers import add_jobs, make_client

BEARER = {"Authorization": "Bearer t"}
API = "/admin/queues/api"


@pytest.fixture
async def rc(cluster_url: str) -> AsyncIterator[RedisCluster]:
    client = connect(cluster_url, cluster=True)
    yield client
    await client.aclose()


async def test_search_and_manage_across_cluster_nodes(cluster_url: str, rc: RedisCluster) -> None:
    tagged = [f"{{f{i}}}" for i in range(5)]
    assert len({rc.keyslot(f"bull:{q}:wait") for q in tagged}) == 5
    for queue in tagged:
        await add_jobs(rc, "bull", queue, 3)
    async with make_client(Settings(redis_url=cluster_url, token="t")) as http:
        hits = (await http.get(f"{API}/search?id=2", headers=BEARER)).json()["jobs"]
        assert sorted(hit["queue"] for hit in hits) == tagged
        assert {hit["state"] for hit in hits} == {"waiting"}

        path = f"{API}/queues/%7Bf2%7D"
        found = (
            await http.get(f"{path}/search?status=waiting&data=%22i%22:1", headers=BEARER)
        ).json()
        assert [job["id"] for job in found["jobs"]] == ["2"] and found["cursor"] is None

        added = await http.post(
            f"{path}/jobs", json={"name": "x", "data": {"k": "v"}}, headers=BEARER
        )
        assert added.status_code == 200, added.text
        new_id = added.json()["id"]
        edited = await http.put(f"{path}/jobs/{new_id}/data", json={"k": "w"}, headers=BEARER)
        assert edited.status_code == 200
        job = (await http.get(f"{path}/jobs/{new_id}", headers=BEARER)).json()
        assert job["data"] == {"k": "w"}

        emptied = await http.post(f"{path}/empty", headers=BEARER)
        assert emptied.json()["count"] == 4
        await http.post(f"{path}/pause", headers=BEARER)
        gone = await http.delete(f"{API}/queues/%7Bf2%7D?confirm=%7Bf2%7D", headers=BEARER)
        assert gone.status_code == 200, gone.text
        paused = await http.post(f"{API}/pause-all", headers=BEARER)
        assert paused.json()["count"] == 4


async def test_a_clusters_lua_reads_reach_the_process_tally(rc: RedisCluster) -> None:
    """On a cluster the scripts go out one by one: they were counted for the footer but never
    reached /metrics' `drainboard_redis_commands_total{source="reads"}`."""
    tagged = [f"{{t{i}}}" for i in range(3)]
    for queue in tagged:
        await add_jobs(rc, "bull", queue, 2)
    # Once before, so that every node's connection is open: a handshake inside the measured call
    # is in its footer but goes to /metrics as "connections", not "reads" (which test of the
    # session first opened them depends on the order the tests run in).
    await search.find_id(rc, "bull", tagged, "1")
    before = SPENT["reads"]
    with tally() as footer:
        hits = await search.find_id(rc, "bull", tagged, "1")
    footer_count = footer.commands
    assert len(hits) == 3
    assert footer_count >= 3
    assert SPENT["reads"] - before == footer_count
