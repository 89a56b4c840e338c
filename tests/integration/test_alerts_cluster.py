"""Alert state on a Redis Cluster (the 3-node fixture): two dashboards watch a backlog that
BullMQ made; the rule fires once, repeats once per period, resolves once, whichever process
got there first (the compare-and-set script runs on the state hash's node)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import redis.asyncio as aioredis
from bullmq import Queue, Worker

from tests.helpers import alert_dashboards, alert_kinds, alert_rules_file

QUEUE = "{mail}"  # a hash tag, as queues on a cluster are named


async def on_cluster(url: str, jobs: int) -> None:
    """`jobs` more waiting jobs, or (0) every waiting job taken and completed by a worker (the
    watcher hears of it from their events)."""
    connection = aioredis.RedisCluster.from_url(url, decode_responses=True)
    queue = Queue(QUEUE, {"connection": connection})
    for i in range(jobs):
        await queue.add("welcome", {"i": i})
    if not jobs:
        worker = Worker(QUEUE, None, {"connection": connection, "autorun": False})
        token = uuid.uuid4().hex
        while (job := await worker.getNextJob(token)) is not None:
            await job.moveToCompleted("ok", token, fetchNext=False)
        await worker.close(force=True)
    await queue.close()
    await connection.aclose()


def test_alert_state_changes_on_a_cluster_send_once(cluster_url, alert_receiver, tmp_path) -> None:
    hook, hook_url = alert_receiver
    rule = f'[[rule]]\nkind = "backlog"\nqueues = "{QUEUE}"\ncount = 2\nrepeat = 0.05\n'
    alerts = alert_rules_file(tmp_path, hook_url, rule)
    asyncio.run(on_cluster(cluster_url, 1))  # the queue exists for discovery, under its count
    with alert_dashboards(cluster_url, alerts, count=2):
        time.sleep(1.0)
        assert hook.texts() == []
        asyncio.run(on_cluster(cluster_url, 2))
        hook.wait(lambda t: alert_kinds(t, "firing") == 1)
        hook.wait(lambda t: alert_kinds(t, "still firing") == 1)  # 3 s later
        asyncio.run(on_cluster(cluster_url, 0))
        hook.wait(lambda t: alert_kinds(t, "resolved") == 1)
        time.sleep(2.0)  # the other process's checks, which must not send again
    texts = hook.texts()
    events = [t.split("]")[0] for t in texts]
    assert events[0] == "[firing" and events[-1] == "[resolved", texts
    assert alert_kinds(texts, "firing") == 1 and alert_kinds(texts, "resolved") == 1, texts
    # Repeats come once a period, never twice (one per process) for the same one.
    repeats = [at for at, t in zip(hook.times, texts, strict=True) if t.startswith("[still")]
    assert repeats, texts
    assert all(b - a >= 2.5 for a, b in itertools.pairwise(repeats)), repeats
    assert "{mail}: 3 jobs waiting" in texts[0], texts
