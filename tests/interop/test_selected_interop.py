"""Select and act on jobs Node BullMQ made: what one selection request leaves is, in Node's own
view of each job, what the row buttons leave, and Node's workers then process the jobs."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.config import Settings
from tests.helpers import MAJORS, make_client, node_counts, node_json

BEARER = {"Authorization": "Bearer t"}
API = "/admin/queues/api/queues/mail"


def node_views(node: str, major: str, url: str, ids: list[str]) -> dict[str, Any]:
    return node_json(node, "inspect.mjs", major, url, "mail", "views", *ids)


def alike(view: dict[str, Any]) -> dict[str, Any]:
    """A job's view without what differs between copies of one job anyway."""
    return {k: v for k, v in view.items() if k not in ("id", "data", "timestamp")}


@pytest.mark.parametrize("major", MAJORS)
async def test_selected_actions_leave_node_jobs_as_the_row_buttons_do(
    node: str, major: str, server_url: str
) -> None:
    node_counts(node, major, server_url, "add", "8")
    node_counts(node, major, server_url, "fail", "8")
    seeded = node_json(node, "inspect.mjs", major, server_url, "mail", "seed", "12")
    assert seeded["failed"] == 8 and seeded["delayed"] == 4
    async with make_client(Settings(redis_url=server_url, token="t")) as http:

        async def ids(status: str) -> list[str]:
            page = await http.get(f"{API}/jobs?status={status}", headers=BEARER)
            return [job["id"] for job in page.json()["jobs"]]

        async def both_ways(action: str, picked: list[str], row: str, method: str) -> None:
            """Half of `picked` in one selection, the other half by each row's button."""
            half = len(picked) // 2
            body = {"action": action, "ids": picked[:half]}
            answer = await http.post(f"{API}/selected", headers=BEARER, json=body)
            assert answer.json()["count"] == half, answer.text
            for job_id in picked[half:]:
                one = await http.request(method, f"{API}/jobs/{job_id}{row}", headers=BEARER)
                assert one.status_code == 200, one.text

        failed, delayed = await ids("failed"), await ids("delayed")
        removable = await ids("waiting") + await ids("prioritized")
        await both_ways("retry", failed, "/retry", "POST")
        await both_ways("promote", delayed, "/promote", "POST")
        await both_ways("remove", removable, "", "DELETE")

    for picked, state in ((failed, "waiting"), (delayed, "waiting")):
        views = node_views(node, major, server_url, picked)
        half = len(picked) // 2
        assert all(views[job_id]["state"] == state for job_id in picked), views
        selected = [alike(views[job_id]) for job_id in picked[:half]]
        by_row = [alike(views[job_id]) for job_id in picked[half:]]
        assert selected == by_row, (selected, by_row)
    assert node_views(node, major, server_url, removable) == dict.fromkeys(removable)
    done = node_counts(node, major, server_url, "complete", "12")
    assert done["completed"] == 12 and done["waiting"] == 0 and done["failed"] == 0
