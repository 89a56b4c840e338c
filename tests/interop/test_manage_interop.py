"""Jobs added, duplicated and edited here, and queues emptied or obliterated, as Node sees them."""

from __future__ import annotations

import pytest

from dashboard.config import Settings
from tests.helpers import MAJORS, make_client, node_json

BEARER = {"Authorization": "Bearer t"}
API = "/admin/queues/api/queues/mail"


def node_view(binary: str, major: str, url: str, *command: str) -> dict:
    return node_json(binary, "inspect.mjs", major, url, "mail", *command)


@pytest.mark.parametrize("major", MAJORS)
async def test_node_reads_jobs_added_duplicated_and_edited_here(
    node: str, major: str, server_url: str
) -> None:
    binary = node
    data = {"to": "zoë@example.com", "items": [1, 2.5, None, True], "nested": {"a": {"b": "c"}}}
    opts = {
        "priority": 5,
        "attempts": 3,
        "backoff": {"type": "exponential", "delay": 1000},
        "removeOnComplete": 10,
        "removeOnFail": {"age": 3600, "count": 50},
    }
    async with make_client(Settings(redis_url=server_url, token="t", queues=("mail",))) as http:
        added = await http.post(
            f"{API}/jobs", json={"name": "send", "data": data, "opts": opts}, headers=BEARER
        )
        assert added.status_code == 200, added.text
        first = added.json()["id"]
        later = await http.post(
            f"{API}/jobs",
            json={"name": "remind", "data": {"n": 1}, "opts": {"delay": 60_000, "jobId": "rem-1"}},
            headers=BEARER,
        )
        assert later.json()["id"] == "rem-1"
        copy = (await http.post(f"{API}/jobs/{first}/duplicate", headers=BEARER)).json()["id"]
        assert copy != first

        seen = node_view(binary, major, server_url, "jobs", first, "rem-1", copy)
        for job_id in (first, copy):
            job = seen[job_id]
            assert job["name"] == "send" and job["data"] == data
            assert job["state"] == "prioritized" and job["priority"] == 5
            assert job["opts"]["attempts"] == 3
            assert job["opts"]["backoff"] == {"type": "exponential", "delay": 1000}
            assert job["opts"]["removeOnComplete"] == 10
            assert job["opts"]["removeOnFail"] == {"age": 3600, "count": 50}
        assert seen["rem-1"]["state"] == "delayed" and seen["rem-1"]["delay"] == 60_000

        edited = {"to": "new@example.com", "why": "typo fixed"}
        put = await http.put(f"{API}/jobs/{first}/data", json=edited, headers=BEARER)
        assert put.status_code == 200, put.text
        moved = await http.post(f"{API}/jobs/{copy}/priority?priority=1", headers=BEARER)
        assert moved.status_code == 200, moved.text
        later_still = await http.post(f"{API}/jobs/rem-1/delay?delay=120000", headers=BEARER)
        assert later_still.status_code == 200, later_still.text

        seen = node_view(binary, major, server_url, "jobs", first, "rem-1", copy)
        assert seen[first]["data"] == edited and seen[first]["name"] == "send"
        assert seen[copy]["priority"] == 1 and seen[copy]["data"] == data
        assert seen["rem-1"]["delay"] == 120_000 and seen["rem-1"]["state"] == "delayed"


@pytest.mark.parametrize("major", MAJORS)
async def test_empty_and_obliterate_leave_what_node_counts(
    node: str, major: str, server_url: str
) -> None:
    binary = node
    async with make_client(Settings(redis_url=server_url, token="t", queues=("mail",))) as http:

        async def ours() -> dict[str, int]:
            [queue] = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
            return queue["counts"]

        seeded = node_view(binary, major, server_url, "seed", "30")
        assert (seeded["waiting"], seeded["prioritized"], seeded["delayed"]) == (10, 10, 10)
        emptied = await http.post(f"{API}/empty", headers=BEARER)
        assert emptied.json()["count"] == 20
        after = node_view(binary, major, server_url, "counts")
        assert (after["waiting"], after["prioritized"], after["delayed"]) == (0, 0, 10)
        assert after == await ours()
        with_delayed = await http.post(f"{API}/empty?delayed=1", headers=BEARER)
        assert with_delayed.json()["count"] == 10
        after = node_view(binary, major, server_url, "counts")
        assert sum(after.values()) == 0 and after == await ours()

        node_view(binary, major, server_url, "seed", "12")
        assert (await http.post(f"{API}/pause", headers=BEARER)).status_code == 200
        paused = node_view(binary, major, server_url, "counts")
        assert paused == await ours()  # BullMQ 5 moves waiting jobs to `paused`, 6 does not
        gone = await http.delete("/admin/queues/api/queues/mail?confirm=mail", headers=BEARER)
        assert gone.status_code == 200, gone.text
        assert gone.json()["count"] == 12
        after = node_view(binary, major, server_url, "counts")
        assert sum(after.values()) == 0 and after == await ours()
