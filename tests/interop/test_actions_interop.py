"""Jobs failed by a Node BullMQ worker, retried through the dashboard, then completed by Node."""

from __future__ import annotations

import pytest

from dashboard.config import Settings
from tests.helpers import MAJORS, make_client, node_counts

BEARER = {"Authorization": "Bearer t"}


@pytest.mark.parametrize("major", MAJORS)
async def test_retry_failed_node_jobs_then_node_completes_them(
    node: str, major: str, server_url: str
) -> None:
    async with make_client(Settings(redis_url=server_url, token="t")) as http:

        async def ours() -> dict[str, int]:
            [queue] = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
            return queue["counts"]

        assert node_counts(node, major, server_url, "add", "6") == await ours()
        after_fail = node_counts(node, major, server_url, "fail", "6")
        assert after_fail["failed"] == 6 and after_fail == await ours()

        failed = (
            await http.get("/admin/queues/api/queues/mail/jobs?status=failed", headers=BEARER)
        ).json()["jobs"]
        one = await http.post(
            f"/admin/queues/api/queues/mail/jobs/{failed[0]['id']}/retry", headers=BEARER
        )
        assert one.status_code == 200
        assert node_counts(node, major, server_url, "counts") == await ours()

        rest = await http.post("/admin/queues/api/queues/mail/retry?status=failed", headers=BEARER)
        assert rest.json()["count"] == 5
        after_retry = node_counts(node, major, server_url, "counts")
        assert after_retry["failed"] == 0 and after_retry["waiting"] == 6
        assert after_retry == await ours()

        after_complete = node_counts(node, major, server_url, "complete", "6")
        assert after_complete["completed"] == 6 and after_complete["failed"] == 0
        assert after_complete == await ours()


@pytest.mark.parametrize("major", MAJORS)
async def test_drain_processes_node_jobs_and_node_agrees(
    node: str, major: str, server_url: str
) -> None:
    settings = Settings(
        redis_url=server_url, token="t", processors="tests.drain_processors:PROCESSORS"
    )
    async with make_client(settings) as http:
        added = node_counts(node, major, server_url, "add", "25")
        assert added["waiting"] == 25
        drained = await http.post("/admin/queues/api/drain", headers=BEARER)
        assert drained.json()["queues"]["mail"]["jobsProcessed"] == 25
        after = node_counts(node, major, server_url, "counts")
        assert after["completed"] == 25 and after["waiting"] == 0 and after["active"] == 0
        [queue] = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
        assert after == queue["counts"]
