"""Flows on real servers: a tree across two queues built by the `bullmq` package, children
completed, failed and pending, read one level and one page at a time through the dashboard."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from bullmq import FlowProducer, Queue, Worker

from dashboard.bullmq.flows import Cursor, flow_level
from dashboard.bullmq.keys import QueueKeys
from dashboard.config import Settings
from dashboard.redis_client.counting import tally
from tests.helpers import make_client

HOUR = 3_600_000
API = "/admin/queues/api/queues"


async def finish_children(url: str, queue: str, fail: set[str]) -> None:
    """Take every waiting job of `queue` and complete it, or fail it when its name is in `fail`."""
    worker = Worker(queue, None, {"connection": url, "autorun": False, "lockDuration": HOUR})
    token = uuid.uuid4().hex
    try:
        while job := await worker.getNextJob(token):
            if job.name in fail:
                await job.moveToFailed(RuntimeError(f"{job.name} broke"), token)
            else:
                await job.moveToCompleted({"ok": job.name}, token)
    finally:
        await worker.close(force=True)


@pytest.fixture
async def tree(server_url: str) -> AsyncIterator[None]:
    flows = FlowProducer({"connection": server_url})
    await flows.add(
        {
            "name": "report",
            "queueName": "flow-a",
            "opts": {"jobId": "root"},
            "children": [
                {"name": "fetch", "queueName": "flow-b", "opts": {"jobId": "fetch"}},
                {
                    "name": "parse",
                    "queueName": "flow-b",
                    "opts": {"jobId": "parse", "ignoreDependencyOnFailure": True},
                },
                {"name": "later", "queueName": "flow-b", "opts": {"jobId": "later", "delay": HOUR}},
                {
                    "name": "group",
                    "queueName": "flow-a",
                    "opts": {"jobId": "group"},
                    "children": [
                        {
                            "name": "leaf",
                            "queueName": "flow-b",
                            "opts": {"jobId": "leaf", "delay": HOUR},
                        }
                    ],
                },
            ],
        }
    )
    await flows.add(
        {
            "name": "audit",
            "queueName": "flow-a",
            "opts": {"jobId": "audit"},
            "children": [
                {
                    "name": "check",
                    "queueName": "flow-b",
                    "opts": {"jobId": "check", "failParentOnFailure": True},
                }
            ],
        }
    )
    await flows.close()
    await finish_children(server_url, "flow-b", fail={"parse", "check"})
    yield


async def flow(http: httpx.AsyncClient, queue: str, job_id: str, query: str = "") -> Any:
    answer = await http.get(f"{API}/{queue}/jobs/{job_id}/flow{query}")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_children_grouped_as_bullmq_keeps_them(tree: None, server_url: str) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        root = await flow(http, "flow-a", "root")
        group = await flow(http, "flow-a", "group")
        audit = await flow(http, "flow-a", "audit")
        leaf = await flow(http, "flow-b", "leaf")
    assert root["state"] == "waiting-children" and root["parent"] is None
    assert root["counts"] == {"processed": 1, "pending": 2, "failed": 0, "ignored": 1}
    children = {c["id"]: c for c in root["children"]}
    assert set(children) == {"fetch", "parse", "later", "group"}
    assert {c: children[c]["state"] for c in children} == {
        "fetch": "completed",
        "parse": "failed",
        "later": "delayed",
        "group": "waiting-children",
    }
    assert children["group"] == {
        "id": "group",
        "queue": "flow-a",
        "name": "group",
        "state": "waiting-children",
        "childCount": 1,
    }
    assert children["fetch"]["queue"] == "flow-b" and children["fetch"]["childCount"] == 0
    assert root["cursor"] is None

    assert group["parent"] == {"id": "root", "queue": "flow-a"}
    assert [c["id"] for c in group["children"]] == ["leaf"]
    assert leaf["parent"] == {"id": "group", "queue": "flow-a"} and leaf["children"] == []
    assert leaf["counts"] == {"processed": 0, "pending": 0, "failed": 0, "ignored": 0}

    # failParentOnFailure: the child sits in `unsuccessful`, the parent is moved on to wait.
    assert audit["counts"] == {"processed": 0, "pending": 0, "failed": 1, "ignored": 0}
    assert audit["children"] == [
        {"id": "check", "queue": "flow-b", "name": "check", "state": "failed", "childCount": 0}
    ]
    assert audit["state"] == "waiting"


@pytest.mark.parametrize("size", [3, 200])
async def test_pages_of_children_cover_each_child_once(
    server_url: str, r: aioredis.Redis, size: int
) -> None:
    """Small sets come back whole from one SSCAN, big ones (hashtable encoded) page by cursor;
    some children finished, so the walk crosses groups too."""
    flows = FlowProducer({"connection": server_url})
    await flows.add(
        {
            "name": "big",
            "queueName": "fan",
            "opts": {"jobId": "big"},
            "children": [
                {"name": "done" if n % 7 == 0 else "todo", "queueName": "kids"}
                for n in range(size * 2)
            ],
        }
    )
    await flows.close()
    queue = Queue("kids", {"connection": server_url})
    worker = Worker("kids", None, {"connection": server_url, "autorun": False})
    token = uuid.uuid4().hex
    for _ in range(size * 2):
        job = await worker.getNextJob(token)
        assert job is not None
        if job.name == "done":
            await job.moveToCompleted("ok", token)
        else:
            await job.moveToDelayed(2**40, token)
    await worker.close(force=True)
    await queue.close()

    seen: list[str] = []
    pages = 0
    keys = QueueKeys("bull", "fan")
    cursor = Cursor()
    while True:
        with tally() as spent:
            level = await flow_level(r, keys, "big", 10, cursor)
        assert level is not None
        # A level: 10 + up to 4 scans + 3, then 10 per child and 3 per child without a set.
        assert spent.commands <= 17 + 13 * 10
        assert len(level.children) <= 10
        seen.extend(child.id for child in level.children)
        pages += 1
        if level.cursor is None:
            break
        cursor = Cursor.parse(level.cursor)
        assert pages < size  # never loops
    assert len(seen) == len(set(seen)) == size * 2
    groups = {"processed": 0, "pending": 0}
    for n in range(size * 2):
        groups["processed" if n % 7 == 0 else "pending"] += 1
    assert level.counts == {**groups, "failed": 0, "ignored": 0}


async def test_waiting_children_rows_say_how_many_are_done(tree: None, server_url: str) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        page = await http.get("/admin/queues/queue/flow-a?status=waiting-children")
    row = page.text.split('data-job-id="root"')[1].split("</tr>")[0]
    assert "2 of 4 children done" in row
    row = page.text.split('data-job-id="group"')[1].split("</tr>")[0]
    assert "0 of 1 children done" in row


async def test_flow_fragments_render_a_level_and_expand_a_child(
    tree: None, server_url: str
) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        section = await http.get("/admin/queues/queue/flow-a/jobs/root/flow")
        children = await http.get("/admin/queues/queue/flow-a/jobs/group/flow/children")
        page = await http.get("/admin/queues/queue/flow-b/jobs/leaf/flow")
        none = await http.get("/admin/queues/queue/flow-b/jobs/later/flow?children=1")
    assert section.status_code == 200
    for text in ("1 processed", "2 pending", "0 failed", "1 ignored", 'data-job-id="group"'):
        assert text in section.text
    assert "/queue/flow-a/jobs/group/flow/children" in section.text
    assert 'data-job-id="leaf"' in children.text and "<section" not in children.text
    assert "/queue/flow-a/jobs/group" in page.text  # the parent link
    assert none.status_code == 200 and 'data-job-id="later"' in none.text  # its parent only


@pytest.mark.parametrize(
    "query",
    ["?cursor=x", "?cursor=9.0.0", "?cursor=1.2", "?cursor=-1.0.0", "?children=0", "?children=a"],
)
async def test_bad_cursor_or_size_is_400(tree: None, server_url: str, query: str) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        answer = await http.get(f"{API}/flow-a/jobs/root/flow{query}")
    assert answer.status_code == 400
    assert answer.json()["status"] == 400


@pytest.mark.parametrize("job_id", ["nope", "meta", "root:dependencies", "root%3Alogs", ".."])
async def test_missing_job_or_a_key_name_is_404(tree: None, server_url: str, job_id: str) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        answer = await http.get(f"{API}/flow-a/jobs/{job_id}/flow")
        html = await http.get(f"/admin/queues/queue/flow-a/jobs/{job_id}/flow/children")
    assert answer.status_code == 404 and html.status_code == 404
    assert answer.json()["status"] == 404
