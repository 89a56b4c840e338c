"""The dashboard's JSON API against Node BullMQ's own answers, for BullMQ 5 and 6.

`produce.mjs` fills two queues with the pinned Node BullMQ (jobs in every state, logs, progress,
return values, stack traces, a flow, a `<script>` payload, and a paused queue) and prints what
Node itself says about them: getJobCounts(), isPaused(), getJob(), getState(), getJobLogs() and
getJobs() per state, whole and by page. Each test then asks the dashboard the same questions.
Node is the reference: where the two disagree, the dashboard is wrong.

Every test runs for each BullMQ major on each server of `server_url` (embedded Valkey, Debian's
Redis 7). A missing `node` or `node_modules` is an error, not a skip: `make test` installs them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from dashboard.bullmq.keys import STATES
from tests.helpers import JOB_FIELDS, NODE_PAUSED_QUEUE, NODE_QUEUE

pytestmark = pytest.mark.interop

API = "/admin/queues/api"
SCRIPT = "<script>alert(1)</script>"


# The fields a job list row shares with Node's Job: all but the payloads, which lists leave out.
ROW_FIELDS = tuple(
    f for f in JOB_FIELDS if f not in ("data", "stacktrace", "returnvalue", "parent")
)


def expected_counts(node_counts: dict[str, int]) -> dict[str, int]:
    """Node's getJobCounts() over the 8 state names of the contract.

    BullMQ 5's default getJobCounts() has all 8. BullMQ 6 dropped `paused` from the default, and
    never fills a `paused` list (pausing only sets `meta.paused`; jobs stay in `wait`), so a
    missing `paused` is 0.
    """
    assert set(node_counts) <= set(STATES), f"Node counts states we do not know: {node_counts}"
    return {state: node_counts.get(state, 0) for state in STATES}


async def get_json(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(f"{API}{path}", params=params)
    assert response.status_code == 200, (
        f"GET {path} {params}: {response.status_code} {response.text}"
    )
    return response.json()


def report(problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{len(problems)} disagreement(s) with Node BullMQ:\n" + "\n".join(problems))


async def test_counts_and_paused_match_node(
    node_view: dict[str, Any], client: httpx.AsyncClient
) -> None:
    major = node_view["major"]
    body = await get_json(client, "/queues")
    served = {q["name"]: q for q in body["queues"]}
    assert set(served) == {NODE_QUEUE, NODE_PAUSED_QUEUE}

    problems = []
    for name, node_queue in node_view["queues"].items():
        want = expected_counts(node_queue["counts"])
        got = served[name]["counts"]
        if got != want:
            problems.append(f"BullMQ {major} {name} counts: dashboard {got}, Node {want}")
        if served[name]["isPaused"] != node_queue["isPaused"]:
            problems.append(
                f"BullMQ {major} {name} isPaused: dashboard {served[name]['isPaused']}, "
                f"Node {node_queue['isPaused']}"
            )
    report(problems)

    # The producer's fixture really covers what it claims: every state but `paused` is filled
    # in the first queue, and the second is paused with jobs held in it.
    counts = node_view["queues"][NODE_QUEUE]["counts"]
    assert all(counts[s] > 0 for s in STATES if s != "paused"), counts
    assert node_view["queues"][NODE_PAUSED_QUEUE]["isPaused"] is True
    held = node_view["queues"][NODE_PAUSED_QUEUE]["counts"]
    if major == "5":
        assert held["paused"] == 3 and held["waiting"] == 0, held
    else:
        assert "paused" not in held and held["waiting"] == 3, held


async def test_job_details_match_node(node_view: dict[str, Any], client: httpx.AsyncClient) -> None:
    major = node_view["major"]
    problems = []
    checked_script = 0
    for name, node_queue in node_view["queues"].items():
        assert node_queue["jobs"], f"Node reports no jobs in {name}"
        for job_id, want in node_queue["jobs"].items():
            got = await get_json(client, f"/queues/{name}/jobs/{quote(job_id, safe='')}")
            where = f"BullMQ {major} {name} job {job_id} ({want['state']})"
            for field in (*JOB_FIELDS, "state", "logs"):
                if field not in got:
                    problems.append(f"{where}: dashboard has no {field!r}; Node {want[field]!r}")
                elif got[field] != want[field]:
                    problems.append(
                        f"{where} {field}: dashboard {got[field]!r}, Node {want[field]!r}"
                    )
            if got.get("logCount") != len(want["logs"]):
                problems.append(
                    f"{where} logCount: dashboard {got.get('logCount')!r}, "
                    f"Node has {len(want['logs'])} log lines"
                )
            if SCRIPT in json.dumps(want["data"]):
                checked_script += 1
    report(problems)
    # The `<script>` payloads came back as the very same strings (compared above), and there were
    # some: in a waiting job, a completed job and a job held by the paused queue.
    assert checked_script >= 3


async def test_job_lists_match_node_order(
    node_view: dict[str, Any], client: httpx.AsyncClient
) -> None:
    major = node_view["major"]
    problems = []
    for name, node_queue in node_view["queues"].items():
        for state in STATES:
            want_ids = node_queue["lists"][state]
            body = await get_json(
                client, f"/queues/{name}/jobs", status=state, page=1, pageSize=200
            )
            where = f"BullMQ {major} {name} status={state}"
            got_ids = [row["id"] for row in body["jobs"]]
            if got_ids != want_ids:
                problems.append(f"{where} order: dashboard {got_ids}, Node getJobs {want_ids}")
            total = node_queue["totals"][state]
            if body["total"] != total:
                problems.append(
                    f"{where} total: dashboard {body['total']}, Node getJobCountByTypes {total}"
                )
            second = await get_json(
                client, f"/queues/{name}/jobs", status=state, page=2, pageSize=2
            )
            got_page = [row["id"] for row in second["jobs"]]
            if got_page != node_queue["secondPages"][state]:
                problems.append(
                    f"{where} page=2 pageSize=2: dashboard {got_page}, "
                    f"Node getJobs(start=2, end=3) {node_queue['secondPages'][state]}"
                )
            for row in body["jobs"]:
                want = node_queue["jobs"].get(row["id"])
                if want is None:
                    continue  # already reported as an order difference
                for field in ROW_FIELDS:
                    if row.get(field) != want[field]:
                        problems.append(
                            f"{where} row {row['id']} {field}: dashboard {row.get(field)!r}, "
                            f"Node {want[field]!r}"
                        )
    report(problems)
