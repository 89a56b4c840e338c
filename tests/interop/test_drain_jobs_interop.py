"""What a drain's handler does to its job, read back by Node BullMQ: return value, progress,
logs, attempts, backoff and failure, whether the job object is the drain's thin one or bullmq's."""

from __future__ import annotations

import asyncio
import time

import pytest

from dashboard.drain.engine import DrainEngine, DrainOptions
from dashboard.redis_client.connection import connect
from tests import drain_processors
from tests.helpers import MAJORS, node_json


@pytest.mark.parametrize("major", MAJORS)
async def test_node_reads_what_drained_handlers_did(node: str, major: str, server_url: str) -> None:
    ids = node_json(node, "finished.mjs", major, server_url, "jobs", "add")
    client = connect(server_url)
    try:
        engine = DrainEngine(client, "bull", {"jobs": drain_processors.reporter})
        processed = 0
        deadline = time.monotonic() + 30
        while processed < 3 and time.monotonic() < deadline:  # the retry waits out its backoff
            processed += (await engine.drain(DrainOptions(queues=("jobs",)))).total_processed
            await asyncio.sleep(0.25)
        assert processed == 3
    finally:
        await client.aclose()
    seen = node_json(node, "finished.mjs", major, server_url, "jobs", "read", *ids.values())
    ok, flaky = seen[ids["ok"]], seen[ids["flaky"]]
    assert ok["state"] == "completed"
    assert ok["returnvalue"] == {"n": 1, "attemptsMade": 0}
    assert ok["progress"] == 50
    assert ok["logs"] == ["attempt 1 of report 1"]
    assert flaky["state"] == "failed"
    assert flaky["attemptsMade"] == 2 and flaky["failedReason"] == "disk full"
    assert len(flaky["stacktrace"]) == 2 and "ValueError: disk full" in flaky["stacktrace"][-1]
    assert flaky["logs"] == ["attempt 1 of report 2", "attempt 2 of report 2"]
