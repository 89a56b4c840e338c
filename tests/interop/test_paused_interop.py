"""A queue paused by Node BullMQ 5 and 6: the queue page says its jobs are held, and a drain
leaves them alone and says so (BullMQ 6 keeps them in wait, BullMQ 5 in its paused list)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboard.bullmq.reader import Reader
from dashboard.config import Settings
from dashboard.redis_client.connection import connect
from dashboard.redis_client.counting import tally
from tests import drain_processors
from tests.helpers import NODE_PAUSED_QUEUE, csrf_token, make_client

pytestmark = pytest.mark.interop


async def test_a_paused_queue_says_its_jobs_are_held(
    node_view: dict[str, Any], server_url: str
) -> None:
    node = node_view["queues"][NODE_PAUSED_QUEUE]["counts"]
    held = node.get("waiting", 0) + node.get("paused", 0) + node.get("prioritized", 0)
    assert held == 4  # three waiting and a prioritized one
    settings = Settings(redis_url=server_url, processors="tests.drain_processors:PROCESSORS")
    async with make_client(settings) as http:
        for status in ("waiting", "paused"):
            page = await http.get(
                f"/admin/queues/queue/{NODE_PAUSED_QUEUE}", params={"status": status}
            )
            line = re.search(
                r'<p class="notice-line held"[^>]*data-held="(\d+)">([^<]+)</p>', page.text
            )
            assert line, page.text
            assert (
                int(line[1]) == held and "Its 4 queued jobs are held until you resume it" in line[2]
            )
            assert ("BullMQ 6 keeps them under Waiting" in line[2]) == (node_view["major"] == "6")

        listed = (await http.get("/admin/queues/api/queues")).json()["queues"]
        before = {q["name"]: q["counts"] for q in listed}[NODE_PAUSED_QUEUE]
        assert before["paused"] == node.get("paused", 0)
        assert before["waiting"] == node.get("waiting", 0)

        # The paused list is read only where it may hold jobs: BullMQ 5's, not BullMQ 6's.
        redis = connect(server_url)
        try:
            await redis.ping()  # the connection's handshake is not the read's cost
            with tally() as spent:
                (summary,) = await Reader(redis, "bull").summaries([NODE_PAUSED_QUEUE])
            assert summary.is_paused and summary.counts == before
            assert spent.commands == (9 if node_view["major"] == "6" else 10)
        finally:
            await redis.aclose()
        drain_processors.SEEN.clear()
        token = await csrf_token(http)
        answer = await http.post(
            "/admin/queues/api/drain",
            params={"queue": NODE_PAUSED_QUEUE},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
        assert answer.status_code == 200 and drain_processors.SEEN == []
        assert f"skipped, paused with jobs held: {NODE_PAUSED_QUEUE}" in answer.text
        after = (await http.get("/admin/queues/api/queues")).json()["queues"]
        assert {q["name"]: q["counts"] for q in after}[NODE_PAUSED_QUEUE] == before

        # The next tick knows it from the probe's notes, and the drain-runs page says so.
        again = await http.post(
            "/admin/queues/api/drain",
            params={"queue": NODE_PAUSED_QUEUE},
            headers={"X-CSRF-Token": token},
        )
        assert again.status_code == 200, again.text
        assert again.json()["queues"][NODE_PAUSED_QUEUE]["skipped"] == "paused"
        runs = await http.get("/admin/queues/drains")
        assert f"Skipped, paused with jobs held: {NODE_PAUSED_QUEUE}." in runs.text
