"""The job read past LOG_LINES log lines: the newest shown, all counted, one `LLEN` more."""

from __future__ import annotations

import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.bullmq.reader import LOG_LINES
from dashboard.config import Settings
from tests.helpers import executed_commands, make_client


async def test_a_long_log_shows_the_newest_lines_and_counts_them_all(own_server_url: str) -> None:
    r = aioredis.Redis.from_url(own_server_url, decode_responses=True)
    queue = Queue("logs", {"connection": r})
    job = await queue.add("chatty", {}, {"priority": 2})
    lines = LOG_LINES + 50
    for n in range(lines):
        await job.log(f"line {n}")
    async with make_client(Settings(redis_url=own_server_url)) as http:
        path = f"/admin/queues/api/queues/logs/jobs/{job.id}"
        await http.get(path)
        before = await executed_commands(r)
        answer = (await http.get(path)).json()
        spent = await executed_commands(r) - before
    await queue.close()
    await r.aclose()
    assert answer["state"] == "prioritized"
    assert answer["logCount"] == lines
    assert answer["logs"] == [f"line {n}" for n in range(50, lines)]
    # Node's getJob + getState for a prioritized job: 6. The newest lines and their count: +1.
    assert spent == 6 + 1
