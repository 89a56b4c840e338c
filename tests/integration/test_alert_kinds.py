"""The alert kinds beyond the watcher's counts, each produced on a real server: latency
(`backlog` with `age_seconds`), `unserved`, `redis` (the server stopped, then back), `quota`
(a burst of commands against a small quota), and email delivery to a local SMTP server."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from aiosmtpd.controller import Controller
from bullmq import Queue, Worker

from tests.helpers import (
    alert_dashboards,
    alert_kinds,
    alert_rules_file,
    free_port,
    start_redis,
    wait_for,
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


def test_redis_unreachable_fires_and_resolves_once(alert_receiver, tmp_path) -> None:
    """The server stops: the watcher loses it, the rule fires (sent while Redis is away); the
    server comes back on its port: resolved, and both sends are recorded in the stream then."""
    hook, hook_url = alert_receiver
    alerts = alert_rules_file(
        tmp_path, hook_url, '[[rule]]\nkind = "redis"\nminutes = 0.02\nrepeat = 0\n'
    )
    port = free_port()
    url = f"redis://127.0.0.1:{port}"
    server = start_redis(port)
    try:
        wait_for(url)
        asyncio.run(add(url, "mail"))
        with alert_dashboards(url, alerts) as (app,):
            time.sleep(1.0)
            assert hook.texts() == []
            server.terminate()
            server.wait(10)
            texts = hook.wait(lambda t: alert_kinds(t, "firing") == 1)
            assert texts[0].startswith("[firing] Redis: unreachable for"), texts
            server = start_redis(port)
            wait_for(url)
            # The watcher retries every 5 s.
            hook.wait(lambda t: alert_kinds(t, "resolved") == 1, timeout=30)
            time.sleep(1.0)
            sent = httpx.get(f"{app.state.origin}/admin/queues/api/alerts", timeout=10).json()
    finally:
        server.terminate()
        server.wait(10)
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"], texts
    assert [s["event"] for s in sent["sent"]] == ["resolved", "firing"]


def test_redis_memory_and_eviction_policy_fire_once_from_two_processes(
    own_server_url, alert_receiver, tmp_path
) -> None:
    """CONFIG SET gives the server an eviction policy, then memory near its maxmemory: two
    dashboards read INFO memory (here every 0.3 s instead of a minute), one message each time
    the state changes."""
    hook, hook_url = alert_receiver
    alerts = alert_rules_file(tmp_path, hook_url, '[[rule]]\nkind = "redis"\npercent = 50\n')
    server = redis.Redis.from_url(own_server_url)
    asyncio.run(add(own_server_url, "mail"))
    try:
        with alert_dashboards(own_server_url, alerts, count=2) as apps:
            for app in apps:
                app.state.board.alerts.memory_every_s = 0.3
            time.sleep(1.0)
            assert hook.texts() == []
            server.config_set("maxmemory-policy", "allkeys-lru")
            hook.wait(lambda t: alert_kinds(t, "firing") == 1)
            server.config_set("maxmemory-policy", "noeviction")
            hook.wait(lambda t: alert_kinds(t, "resolved") == 1)
            # 2/3 of maxmemory used: over the rule's 50%, and writes still fit.
            used = int(server.info("memory")["used_memory"])
            server.config_set("maxmemory", used * 3 // 2)
            hook.wait(lambda t: alert_kinds(t, "firing") == 2)
            server.config_set("maxmemory", 0)
            hook.wait(lambda t: alert_kinds(t, "resolved") == 2)
            time.sleep(1.5)  # the other process's readings, which must not send again
    finally:
        server.config_set("maxmemory", 0)
        server.config_set("maxmemory-policy", "noeviction")
        server.close()
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"] * 2, texts
    assert texts[0].startswith("[firing] Redis: eviction policy allkeys-lru ("), texts
    assert texts[2].startswith("[firing] Redis: memory at 6"), texts
    assert "% of maxmemory (" in texts[2]


def test_quota_fires_and_resolves_once(server_url, alert_receiver, tmp_path) -> None:
    """A burst of commands projects past a 100M quota over a 1 s window; the quiet window
    after it does not (the watcher and the INFO readings alone: a few commands a second)."""
    hook, hook_url = alert_receiver
    alerts = alert_rules_file(
        tmp_path, hook_url, '[[rule]]\nkind = "quota"\nminutes = 0.01\nrepeat = 0\n'
    )
    asyncio.run(add(server_url, "mail"))
    with alert_dashboards(server_url, alerts, quota=100_000_000) as (app,):
        app.state.board.alerts.quota_min_s = 1.0
        time.sleep(2.5)
        assert hook.texts() == []  # idle: well under the quota
        client = redis.Redis.from_url(server_url)
        pipe = client.pipeline(transaction=False)
        for _ in range(3000):  # 3,000 in a second: 130M a month
            pipe.ping()
        pipe.execute()
        client.close()
        texts = hook.wait(lambda t: alert_kinds(t, "firing") == 1)
        hook.wait(lambda t: alert_kinds(t, "resolved") == 1)
        time.sleep(1.0)
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"], texts
    assert "commands projected this month" in texts[0]
    assert "against a quota of 100,000,000" in texts[0]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_an_email_fires_and_resolves(server_url, alert_receiver, mailbox, tmp_path) -> None:
    hook, hook_url = alert_receiver
    box, port = mailbox
    alerts = alert_rules_file(
        tmp_path,
        hook_url,
        '[[rule]]\nkind = "backlog"\nqueues = "mail"\ncount = 0\nrepeat = 0\nsend = ["mail"]\n',
        extra=f'\n[destination.mail]\nurl = "smtp://127.0.0.1:{port}"\nto = "ops@example.com"\n',
    )
    asyncio.run(add(server_url, "mail"))
    with alert_dashboards(server_url, alerts) as (app,):
        deadline = time.monotonic() + 20
        while len(box.messages) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        asyncio.run(take_all(server_url, "mail"))
        while len(box.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        sent = httpx.get(f"{app.state.origin}/admin/queues/api/alerts", timeout=10).json()
    assert [to for to, _ in box.messages] == [["ops@example.com"]] * 2
    firing, resolved = (text for _, text in box.messages)
    assert "Subject: [firing] mail: 1 job waiting (more than 0 waiting)" in firing
    assert "From: drainboard@localhost" in firing and '"event": "firing"' in firing
    assert "Subject: [resolved] mail: resolved" in resolved
    assert [(s["destination"], s["result"]) for s in sent["sent"]] == [("mail", "sent")] * 2
    assert hook.texts() == []  # the rule sends to email only
    assert {d["name"]: d["url"] for d in sent["destinations"]}["mail"] == (
        f"smtp://127.0.0.1:{port}"
    )
