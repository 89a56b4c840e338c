"""Drainboard on a real three-node Redis Cluster, against Node BullMQ on an ioredis Cluster.

Node BullMQ 5 and 6 (prefix `{bull}`, so each queue's keys share one slot) fill queues with jobs
in every state; the dashboard, given one node's URL, detects the cluster by itself and must
agree with Node on counts, lists and jobs; a retry through the dashboard is seen by Node, and a
drain processes Node's jobs.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import pytest

from dashboard.bullmq.keys import STATES
from dashboard.config import Settings
from tests.helpers import MAJORS, make_client, node_json

pytestmark = pytest.mark.interop

PREFIX = "{bull}"
BEARER = {"Authorization": "Bearer t"}
API = "/admin/queues/api"
CLUSTER_ENV = {**os.environ, "REDIS_CLUSTER": "1", "BULLMQ_PREFIX": PREFIX}


def run_node(node: str, script: str, *args: str) -> Any:
    return node_json(node, script, *args, timeout=90, env=CLUSTER_ENV)


def node_counts(node: str, major: str, url: str, *command: str) -> dict[str, int]:
    counts = run_node(node, "work.mjs", major, url, "mail", *command)
    return {"paused": 0, **counts}  # Node 6's default getJobCounts() has no `paused`


def cluster_settings(url: str, **more: Any) -> Settings:
    """One node's URL and the hash-tagged prefix: cluster mode is detected, not forced."""
    return Settings(redis_url=url, prefix=PREFIX, token="t", **more)


@pytest.mark.parametrize("major", MAJORS)
async def test_counts_lists_and_jobs_match_node_on_a_cluster(
    node: str, major: str, cluster_url: str
) -> None:
    view = run_node(node, "produce.mjs", major, cluster_url, PREFIX, "interop")
    async with make_client(cluster_settings(cluster_url)) as http:
        body = (await http.get(f"{API}/queues", headers=BEARER)).json()
        served = {q["name"]: q for q in body["queues"]}
        assert set(served) == set(view["queues"])
        for name, want in view["queues"].items():
            expected = {state: want["counts"].get(state, 0) for state in STATES}
            assert served[name]["counts"] == expected, name
            assert served[name]["isPaused"] == want["isPaused"], name
            for state in STATES:
                page = (
                    await http.get(
                        f"{API}/queues/{name}/jobs",
                        params={"status": state, "pageSize": 200},
                        headers=BEARER,
                    )
                ).json()
                assert [row["id"] for row in page["jobs"]] == want["lists"][state], (name, state)
            for job_id, job in want["jobs"].items():
                got = (
                    await http.get(
                        f"{API}/queues/{name}/jobs/{quote(job_id, safe='')}", headers=BEARER
                    )
                ).json()
                assert (got["state"], got["data"], got["logs"]) == (
                    job["state"],
                    job["data"],
                    job["logs"],
                ), (name, job_id)
        # Every state but `paused` was really filled, so the comparison covered them all.
        counts = view["queues"]["interop"]["counts"]
        assert all(counts[s] > 0 for s in STATES if s != "paused"), counts


@pytest.mark.parametrize("major", MAJORS)
async def test_retry_on_a_cluster_is_seen_by_node(node: str, major: str, cluster_url: str) -> None:
    async with make_client(cluster_settings(cluster_url)) as http:

        async def ours() -> dict[str, int]:
            [queue] = (await http.get(f"{API}/queues", headers=BEARER)).json()["queues"]
            return queue["counts"]

        node_counts(node, major, cluster_url, "add", "4")
        after_fail = node_counts(node, major, cluster_url, "fail", "4")
        assert after_fail["failed"] == 4
        assert after_fail == await ours()

        failed = (await http.get(f"{API}/queues/mail/jobs?status=failed", headers=BEARER)).json()
        one = await http.post(
            f"{API}/queues/mail/jobs/{failed['jobs'][0]['id']}/retry", headers=BEARER
        )
        assert one.status_code == 200, one.text
        rest = await http.post(f"{API}/queues/mail/retry?status=failed", headers=BEARER)
        assert rest.json()["count"] == 3
        seen = node_counts(node, major, cluster_url, "counts")
        assert seen["failed"] == 0 and seen["waiting"] == 4
        assert seen == await ours()
        done = node_counts(node, major, cluster_url, "complete", "4")
        assert done["completed"] == 4 and done == await ours()


@pytest.mark.parametrize("major", MAJORS)
async def test_drain_processes_node_jobs_on_a_cluster(
    node: str, major: str, cluster_url: str
) -> None:
    node_counts(node, major, cluster_url, "add", "12")
    settings = cluster_settings(cluster_url, processors="tests.drain_processors:PROCESSORS")
    async with make_client(settings) as http:
        drained = await http.post(f"{API}/drain", headers=BEARER)
        assert drained.status_code == 200, drained.text
        assert drained.json()["queues"]["mail"]["jobsProcessed"] == 12
        after = node_counts(node, major, cluster_url, "counts")
        assert after["completed"] == 12 and after["waiting"] == 0 and after["active"] == 0
        [queue] = (await http.get(f"{API}/queues", headers=BEARER)).json()["queues"]
        assert after == queue["counts"]
