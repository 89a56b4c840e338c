"""The alert kinds beyond the watcher's counts, each produced on a real server: latency
(`backlog` with `age_seconds`), `unserved`, `redis` (the server stopped, then back), `quota`
(a burst of commands against a small quota), and email delivery to a local SMTP server."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid

import redis
from bullmq import Queue, Worker

from tests.helpers import (
    alert_dashboards,
    alert_kinds,
    alert_rules_file,
)


async def add(url: str, queue_name: str, count: int = 1) -> None:
    queue = Queue(queue_name, {"connection": url})
    for i in range(count):
        await queue.add("welcome", {"i": i})
    await queue.close()


async def take_all(url: str, queue_name: str) -> int:
    """A worker that takes each waiting job and completes it: `active`, then `completed`."""
    worker = Worker(queue_name, None, {"connection": url, "autorun": False})
    token, taken = uuid.uuid4().hex, 0
    while (job := await worker.getNextJob(token)) is not None:
        await job.moveToCompleted("ok", token, fetchNext=False)
        taken += 1
    await worker.close(force=True)
    return taken


def test_latency_fires_and_resolves_once(server_url, alert_receiver, tmp_path) -> None:
    hook, hook_url = alert_receiver
    alerts = alert_rules_file(
        tmp_path,
        hook_url,
        '[[rule]]\nkind = "backlog"\nqueues = "mail"\nage_seconds = 1.5\nrepeat = 0\n',
    )
    asyncio.run(add(server_url, "mail"))
    with alert_dashboards(server_url, alerts) as (app,):
        texts = hook.wait(lambda t: alert_kinds(t, "firing") == 1)
        assert "mail: the oldest has waited" in texts[0], texts
        assert asyncio.run(take_all(server_url, "mail")) == 1
        hook.wait(lambda t: alert_kinds(t, "resolved") == 1)
        time.sleep(1.0)
        latency = app.state.board.alerts.latency("mail", time.time())
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"], texts
    assert latency is None  # nothing waits now


def test_unserved_fires_and_resolves_once(server_url, alert_receiver, tmp_path) -> None:
    hook, hook_url = alert_receiver
    alerts = alert_rules_file(
        tmp_path, hook_url, '[[rule]]\nkind = "unserved"\nminutes = 0.02\nrepeat = 0\n'
    )
    asyncio.run(add(server_url, "mail", 2))
    with alert_dashboards(server_url, alerts):
        texts = hook.wait(lambda t: alert_kinds(t, "firing") == 1)
        assert texts[0].startswith("[firing] mail: 2 jobs waiting, none taken for"), texts
        assert "no worker connected" in texts[0]
        assert asyncio.run(take_all(server_url, "mail")) == 2
        hook.wait(lambda t: alert_kinds(t, "resolved") == 1)
        time.sleep(1.0)
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"], texts


def test_a_connected_worker_keeps_a_queue_served(server_url, alert_receiver, tmp_path) -> None:
    """Jobs that wait while a worker of the queue is connected (busy, rate-limited) are not
    unserved: the service check finds it in CLIENT LIST. The worker here is a connection named
    as Node BullMQ names a Worker's, `<prefix>:<base64(queue)>`, which takes nothing."""
    hook, hook_url = alert_receiver
    alerts = alert_rules_file(
        tmp_path, hook_url, '[[rule]]\nkind = "unserved"\nminutes = 0.02\nrepeat = 0\n'
    )
    asyncio.run(add(server_url, "mail", 1))
    worker = redis.Redis.from_url(server_url)
    worker.client_setname(f"bull:{base64.b64encode(b'mail').decode()}")
    try:
        with alert_dashboards(server_url, alerts) as (app,):
            time.sleep(3.0)
            asked = app.state.board.service_check._answer
    finally:
        worker.close()
    assert hook.texts() == []
    assert asked is not None  # the jobs waited long enough for the check to be asked
