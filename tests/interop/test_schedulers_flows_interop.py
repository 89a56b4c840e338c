"""Schedulers and flows made by Node BullMQ 5 and 6, shown by the dashboard as Node sees them.

`schedulers.mjs` makes a legacy repeatable job, a job scheduler with a pattern and a time zone,
and one with `every`; the dashboard must list them exactly as Node's getJobSchedulers() does,
`next` included, and Node must see what Run now and Remove did here. `flows.mjs` builds a tree
across two queues with completed, failed (ignoreDependencyOnFailure, failParentOnFailure) and
pending children; the dashboard's levels must agree with Node's getDependencies(),
getDependenciesCount() and getState().
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dashboard.config import Settings
from tests.helpers import MAJORS, make_client, node_json

pytestmark = pytest.mark.interop

API = "/admin/queues/api/queues"
BEARER = {"Authorization": "Bearer t"}
FIELDS = ("name", "pattern", "every", "tz", "next", "iterationCount", "limit", "startDate")


def run_node(binary: str, script: str, *args: str) -> dict[str, Any]:
    return node_json(binary, script, *args)


def bearer_client(url: str) -> httpx.AsyncClient:
    http = make_client(Settings(redis_url=url, token="t"))
    http.headers.update(BEARER)
    return http


def as_ours(their: dict[str, Any]) -> dict[str, Any]:
    """Node's scheduler in the dashboard's shape: its fields, absent ones null."""
    template = their.get("template")
    return {
        "id": their["key"],
        **{field: their.get(field) for field in FIELDS},
        "endDate": their.get("endDate"),
        "template": None
        if template is None
        else {"data": template.get("data"), "opts": template.get("opts")},
    }


@pytest.mark.parametrize("major", MAJORS)
async def test_schedulers_list_as_node_lists_them_and_node_sees_our_actions(
    node: str, major: str, server_url: str
) -> None:
    made = run_node(node, "schedulers.mjs", major, server_url, "nightly", "make")
    theirs = made["schedulers"]
    kinds = {s["key"]: s for s in theirs}
    assert len(theirs) == 3 and {"monthly-credits", "heartbeat"} <= set(kinds)
    [legacy] = [key for key in kinds if key not in ("monthly-credits", "heartbeat")]

    async with bearer_client(server_url) as http:
        body = (await http.get(f"{API}/nightly/schedulers?pageSize=50")).json()
        assert body["total"] == 3
        assert body["schedulers"] == [as_ours(s) for s in theirs]
        second = (await http.get(f"{API}/nightly/schedulers?pageSize=2&page=2")).json()
        assert second["schedulers"] == [as_ours(theirs[2])]

        tab = await http.get("/admin/queues/queue/nightly/schedulers")
        assert "At 12:05 AM, on day 1 of the month" in tab.text
        assert "At 02:00 AM" in tab.text

        # Run now: the credit grant's pending job is promoted; Node sees it waiting.
        pending = f"repeat:monthly-credits:{kinds['monthly-credits']['next']}"
        ran = await http.post(f"{API}/nightly/schedulers/monthly-credits/run", headers=BEARER)
        assert ran.status_code == 200, ran.text
        seen = run_node(node, "schedulers.mjs", major, server_url, "nightly", "view", pending)
        assert seen["states"] == {pending: "waiting"}
        assert seen["counts"]["delayed"] == 2 and seen["counts"]["waiting"] == 1

        # Remove: the legacy repeatable job and the `every` scheduler, with their pending jobs.
        gone = [f"repeat:{key}:{kinds[key]['next']}" for key in (legacy, "heartbeat")]
        for key in (legacy, "heartbeat"):
            removed = await http.delete(f"{API}/nightly/schedulers/{key}", headers=BEARER)
            assert removed.status_code == 200, removed.text
        seen = run_node(node, "schedulers.mjs", major, server_url, "nightly", "view", *gone)
        assert [s["key"] for s in seen["schedulers"]] == ["monthly-credits"]
        assert seen["states"] == dict.fromkeys(gone, "unknown")
        assert seen["counts"]["delayed"] == 0
        body = (await http.get(f"{API}/nightly/schedulers")).json()
        assert body == {"schedulers": [as_ours(seen["schedulers"][0])], "total": 1}


@pytest.mark.parametrize("major", MAJORS)
async def test_flow_levels_agree_with_node(node: str, major: str, server_url: str) -> None:
    jobs = run_node(node, "flows.mjs", major, server_url)["jobs"]
    async with bearer_client(server_url) as http:
        for job_id, their in jobs.items():
            ours = (await http.get(f"{API}/{their['queue']}/jobs/{job_id}/flow")).json()
            assert ours["state"] == their["state"], job_id
            assert ours["name"] == their["name"]
            parent = their["parentKey"]
            assert ours["parent"] == (
                None
                if parent is None
                else {"queue": parent.split(":")[1], "id": parent.split(":")[2]}
            )
            counts = their["counts"]
            assert ours["counts"] == {
                "processed": counts["processed"],
                "pending": counts["unprocessed"],
                "failed": counts["failed"],
                "ignored": counts["ignored"],
            }, job_id

            # One child per page: the walk goes group by group, in the order of `counts`.
            walked, cursor = [], None
            while True:
                query = "?children=1" + (f"&cursor={cursor}" if cursor else "")
                page = (await http.get(f"{API}/{their['queue']}/jobs/{job_id}/flow{query}")).json()
                walked.extend(page["children"])
                cursor = page["cursor"]
                if cursor is None:
                    break
            deps = their["dependencies"]
            groups = [
                sorted(deps["processed"]),
                sorted(deps["unprocessed"]),
                sorted(deps["failed"]),
                sorted(deps["ignored"]),
            ]
            at = 0
            for keys in groups:
                chunk = walked[at : at + len(keys)]
                assert sorted(f"bull:{c['queue']}:{c['id']}" for c in chunk) == keys, job_id
                at += len(keys)
            assert at == len(walked)
            for child in walked:
                assert child["state"] == jobs[child["id"]]["state"], child
                assert child["childCount"] == sum(jobs[child["id"]]["counts"].values())
