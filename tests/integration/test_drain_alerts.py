"""Every kind a drain tick can judge fires from `drainboard drain` (the CLI, a subprocess, no
server up), is not sent again by the next tick while it holds, and resolves once: Node BullMQ
adds the backlogs (jobs of a known age), BullMQ's scripts pause and stall; a local webhook
receiver gets the messages. (`failed`: tests/integration/test_alerts.py.)"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from bullmq import Queue, Worker

from tests.helpers import alert_rules_file, node_json

ROOT = Path(__file__).resolve().parents[2]
# `mail` has a processor (tests/drain_processors.py); `reports` has none.


def node(url: str, queue: str, *command: str) -> None:
    binary = shutil.which("node")
    assert binary, "these tests need Node.js on PATH (make test)"
    node_json(binary, "alerting.mjs", "6", url, queue, *command)


def tick(url: str, alerts: str) -> None:
    command = [sys.executable, "-m", "dashboard", "drain", "--redis-url", url, "--alerts", alerts]
    command += ["--processors", "tests.drain_processors:PROCESSORS"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


async def on_queue(url: str, name: str, act: str) -> None:
    queue = Queue(name, {"connection": url})
    if act == "pause":
        await queue.add("welcome", {})
        await queue.pause()
    else:
        await queue.resume()
    await queue.close()


async def abandon_a_job(url: str) -> None:
    """A job taken by a worker that then died: its lock lapses, BullMQ's stalled check finds it."""
    queue = Queue("mail", {"connection": url})
    await queue.add("welcome", {})
    worker = Worker("mail", None, {"connection": url, "autorun": False, "lockDuration": 300})
    assert await worker.getNextJob(uuid.uuid4().hex) is not None
    await worker.close(force=True)
    await queue.close()
    await asyncio.sleep(0.6)


def backlog(url: str) -> None:
    node(url, "reports", "add", "3")


def old_job(url: str) -> None:
    node(url, "reports", "aged", "900")


def none_waits(url: str) -> None:
    node(url, "reports", "drain", "0")


def pause(url: str) -> None:
    asyncio.run(on_queue(url, "mail", "pause"))
    time.sleep(1.5)  # longer than the rule's minutes


def resume(url: str) -> None:
    asyncio.run(on_queue(url, "mail", "resume"))


def stall(url: str) -> None:
    asyncio.run(abandon_a_job(url))


def nothing(url: str) -> None:
    return None


# kind: the rule, what makes it hold, what makes it stop, what the firing message says.
CASES: dict[str, tuple[str, Callable[[str], None], Callable[[str], None], str]] = {
    "backlog": ('queues = "reports"\ncount = 2', backlog, none_waits, "reports: 3 jobs waiting"),
    "latency": (
        'queues = "reports"\nage_seconds = 600',
        old_job,
        none_waits,
        "reports: the oldest has waited 90",
    ),
    "unserved": (
        'queues = "reports"\nminutes = 10',
        old_job,
        none_waits,
        "reports: 1 jobs waiting, the oldest for 15 minutes",
    ),
    "paused": ('queues = "mail"\nminutes = 0.02', pause, resume, "mail: paused for at least 0"),
    # The next tick's stalled check finds none: the rule stops holding by itself.
    "stalled": ('queues = "mail"', stall, nothing, "mail: 1 job stalled in a drain"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_kind_fires_from_a_drain_tick_once_and_resolves(
    server_url, alert_receiver, tmp_path, case: str
) -> None:
    hook, hook_url = alert_receiver
    settings, make, clear, said = CASES[case]
    kind = "backlog" if case == "latency" else case
    alerts = alert_rules_file(tmp_path, hook_url, f'[[rule]]\nkind = "{kind}"\n{settings}\n')
    node(server_url, "reports", "add", "0")  # both queues exist for discovery
    make(server_url)
    tick(server_url, alerts)
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing"], texts
    assert said in texts[0], texts
    if case != "stalled":
        tick(server_url, alerts)  # still holding; repeats every 60 minutes: nothing sent
        assert len(hook.texts()) == 1, hook.texts()
    clear(server_url)
    tick(server_url, alerts)
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"], texts
    tick(server_url, alerts)
    assert len(hook.texts()) == 2, hook.texts()


def test_a_redis_rule_reads_memory_once_a_tick(own_server_url, alert_receiver, tmp_path) -> None:
    hook, hook_url = alert_receiver
    alerts = alert_rules_file(tmp_path, hook_url, '[[rule]]\nkind = "redis"\npercent = 90\n')
    server = redis.Redis.from_url(own_server_url)
    node(own_server_url, "mail", "add", "1")
    try:
        server.config_set("maxmemory-policy", "volatile-lru")
        tick(own_server_url, alerts)
        tick(own_server_url, alerts)
        server.config_set("maxmemory-policy", "noeviction")
        tick(own_server_url, alerts)
    finally:
        server.config_set("maxmemory-policy", "noeviction")
        server.close()
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"], texts
    assert texts[0].startswith("[firing] Redis: eviction policy volatile-lru ("), texts
