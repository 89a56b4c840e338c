"""Alerts end to end: BullMQ (the Python package, the same Lua scripts as Node's) produces
failures, backlogs and pauses on a real server; dashboards under uvicorn check the rules from
their change watcher and post to a local webhook receiver."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from bullmq import Queue, Worker

from dashboard.config import Settings
from tests.helpers import ALERT_SECRET as SECRET
from tests.helpers import AlertReceiver as Receiver
from tests.helpers import alert_dashboards, csrf_token, make_client, serving
from tests.helpers import alert_kinds as kinds
from tests.helpers import alert_rules_file as rules_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    with serving(hook.app) as origin:
        yield hook, f"{origin}/hooks/{SECRET}"


@contextmanager
def dashboards(url: str, alerts: str, count: int = 1) -> Iterator[list[str]]:
    with alert_dashboards(url, alerts, count) as apps:
        yield [app.state.origin for app in apps]


async def fail_jobs(url: str, queue_name: str, count: int) -> None:
    queue = Queue(queue_name, {"connection": url})
    worker = Worker(queue_name, None, {"connection": url, "autorun": False})
    token = uuid.uuid4().hex
    for i in range(count):
        await queue.add("charge", {"i": i})
        job = await worker.getNextJob(token)
        await job.moveToFailed(ValueError("card declined"), token)
    await worker.close(force=True)
    await queue.close()


async def seed(url: str, queue_name: str) -> None:
    """A waiting job, so that the dashboard's one discovery SCAN at start-up finds the queue."""
    queue = Queue(queue_name, {"connection": url})
    await queue.add("seed", {})
    await queue.close()


def test_failed_fires_repeats_and_resolves_once(server_url, receiver, tmp_path) -> None:
    hook, hook_url = receiver
    # More than 1 failure within 6 s; repeat every 3.6 s: one repeat before the window passes.
    alerts = rules_file(
        tmp_path,
        hook_url,
        '[[rule]]\nkind = "failed"\nqueues = "billing-*"\ncount = 1\nminutes = 0.1\n'
        "repeat = 0.06\nsend = ['ops']\n",
    )
    asyncio.run(fail_jobs(server_url, "mail", 3))  # not a billing queue: no alert
    asyncio.run(seed(server_url, "billing-eu"))
    with dashboards(server_url, alerts):
        time.sleep(1.5)
        asyncio.run(fail_jobs(server_url, "billing-eu", 1))
        time.sleep(1.5)
        assert hook.texts() == []  # one failure is not more than one
        asyncio.run(fail_jobs(server_url, "billing-eu", 1))
        texts = hook.wait(lambda t: kinds(t, "resolved") >= 1)
        time.sleep(1.0)
        texts = hook.texts()
    assert kinds(texts, "firing") == 1, texts
    assert kinds(texts, "still firing") == 1, texts
    assert kinds(texts, "resolved") == 1, texts
    assert all("billing-eu" in t for t in texts), texts
    assert "2 jobs failed" in texts[0]


def test_backlog_and_paused_fire_and_resolve(server_url, receiver, tmp_path) -> None:
    hook, hook_url = receiver
    alerts = rules_file(
        tmp_path,
        hook_url,
        '[[rule]]\nkind = "backlog"\nqueues = "mail"\ncount = 2\nrepeat = 0\n\n'
        '[[rule]]\nkind = "paused"\nqueues = "mail"\nminutes = 0.02\nrepeat = 0\n',
    )

    async def fill() -> None:
        queue = Queue("mail", {"connection": server_url})
        for i in range(3):
            await queue.add("welcome", {"i": i})
        await queue.close()

    async def pause(on: bool) -> None:
        queue = Queue("mail", {"connection": server_url})
        await (queue.pause() if on else queue.resume())
        await queue.close()

    async def empty() -> None:
        queue = Queue("mail", {"connection": server_url})
        await queue.drain()
        await queue.close()

    asyncio.run(fill())
    with dashboards(server_url, alerts):
        hook.wait(lambda t: kinds(t, "firing") == 1)
        asyncio.run(pause(True))
        hook.wait(lambda t: any("paused for" in x for x in t))
        asyncio.run(pause(False))
        asyncio.run(empty())
        texts = hook.wait(lambda t: kinds(t, "resolved") == 2)
        time.sleep(1.0)
        texts = hook.texts()
    assert kinds(texts, "firing") == 1 + 1, texts  # backlog, then paused
    assert kinds(texts, "resolved") == 2, texts
    assert kinds(texts, "still firing") == 0, texts  # repeat = 0: never
    assert any("3 jobs waiting" in t for t in texts), texts


def test_two_dashboards_send_one_alert(server_url, receiver, tmp_path) -> None:
    hook, hook_url = receiver
    alerts = rules_file(
        tmp_path, hook_url, '[[rule]]\nkind = "failed"\ncount = 0\nminutes = 60\nrepeat = 0\n'
    )
    asyncio.run(seed(server_url, "mail"))
    with dashboards(server_url, alerts, count=2) as origins:
        time.sleep(1.5)
        asyncio.run(fail_jobs(server_url, "mail", 1))
        hook.wait(lambda t: kinds(t, "firing") >= 1)
        time.sleep(3.0)  # the other process's notice arrives, and must not send
        page = httpx.get(f"{origins[1]}/admin/queues/api/alerts", timeout=10).json()
        html = httpx.get(f"{origins[0]}/admin/queues/alerts", timeout=10).text
    assert kinds(hook.texts(), "firing") == 1, hook.texts()
    assert page["rules"][0]["firing"][0]["queue"] == "mail"
    assert [s["event"] for s in page["sent"]] == ["firing"]
    assert page["sent"][0]["result"] == "200"
    # The webhook's secret is never shown: scheme and host only.
    assert SECRET not in html and SECRET not in str(page)
    assert page["destinations"][0]["url"].startswith("http://127.0.0.1:")


def test_a_drain_tick_fires_and_the_next_resolves(server_url, receiver, tmp_path) -> None:
    """`drainboard drain --alerts`: the tick's own failures are the window; no server runs."""
    hook, hook_url = receiver
    alerts = rules_file(tmp_path, hook_url, '[[rule]]\nkind = "failed"\nqueues = "mail"\n')

    async def add(fail: bool) -> None:
        queue = Queue("mail", {"connection": server_url})
        await queue.add("welcome", {"fail": "bounced"} if fail else {})
        await queue.close()

    def tick() -> None:
        command = [sys.executable, "-m", "dashboard", "drain", "--redis-url", server_url]
        command += ["--processors", "tests.drain_processors:PROCESSORS", "--alerts", alerts]
        subprocess.run(command, cwd=ROOT, capture_output=True, timeout=60, check=False)

    asyncio.run(add(fail=True))
    tick()
    assert [t.split("]")[0] for t in hook.texts()] == ["[firing"]
    asyncio.run(add(fail=True))
    tick()  # still failing, repeat 60 minutes: nothing more
    asyncio.run(add(fail=False))
    tick()
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"], texts
    assert "1 job failed in a drain" in texts[0]


def test_a_bad_rules_file_stops_the_start_with_one_sentence(tmp_path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text('[[rule]]\nkind = "failed"\nsend = ["pager"]\n')
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "drain", "--redis-url", "redis://127.0.0.1:1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "DRAINBOARD_ALERTS": str(path)},
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"drainboard: {path}: rule 1 sends to 'pager', which no [destination.pager] defines."
    )


def test_an_on_demand_worker_alerts_after_its_drains(server_url, receiver, tmp_path) -> None:
    hook, hook_url = receiver
    alerts = rules_file(tmp_path, hook_url, '[[rule]]\nkind = "failed"\nqueues = "mail"\n')

    async def add() -> None:
        queue = Queue("mail", {"connection": server_url})
        await queue.add("welcome", {"fail": "bounced"})
        await queue.close()

    asyncio.run(add())
    command = [sys.executable, "-m", "dashboard", "worker", "--mode", "on-demand"]
    command += ["--redis-url", server_url, "--alerts", alerts]
    command += ["--processors", "tests.drain_processors:PROCESSORS"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        texts = hook.wait(lambda t: kinds(t, "firing") == 1)
    finally:
        process.terminate()
        process.wait(15)
    assert "mail: 1 job failed in a drain" in texts[0]


def test_always_on_workers_refuse_alerts_with_a_sentence(tmp_path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text("")
    command = [sys.executable, "-m", "dashboard", "worker", "--mode", "always", "--alerts"]
    command += [str(path), "--redis-url", "redis://127.0.0.1:1"]
    command += ["--processors", "tests.drain_processors:PROCESSORS"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "give it to `drainboard serve`" in done.stderr


async def stall_one(url: str) -> None:
    """A job taken by a worker that then stops renewing its lock; BullMQ's stalled check (run
    twice: the first marks, the second moves) puts it back and emits `stalled`."""
    queue = Queue("mail", {"connection": url})
    await queue.add("welcome", {})
    crashed = Worker("mail", None, {"connection": url, "autorun": False, "lockDuration": 300})
    assert await crashed.getNextJob(uuid.uuid4().hex) is not None
    await asyncio.sleep(0.6)  # the lock lapses
    checker = Worker("mail", None, {"connection": url, "autorun": False, "stalledInterval": 100})
    for _ in range(2):
        await checker.runStalledJobsCheck()
        await asyncio.sleep(0.2)
    await checker.close(force=True)
    await crashed.close(force=True)
    await queue.close()


def test_stalled_fires_and_resolves_once(server_url, receiver, tmp_path) -> None:
    hook, hook_url = receiver
    alerts = rules_file(
        tmp_path, hook_url, '[[rule]]\nkind = "stalled"\nminutes = 0.1\nrepeat = 0\n'
    )
    asyncio.run(seed(server_url, "mail"))
    with dashboards(server_url, alerts):
        time.sleep(1.5)
        asyncio.run(stall_one(server_url))
        hook.wait(lambda t: kinds(t, "resolved") == 1)
        time.sleep(1.0)
        texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[resolved"], texts
    assert texts[0].startswith("[firing] mail: 1 job stalled")


async def test_the_page_and_send_a_test(server_url, receiver, tmp_path) -> None:
    hook, hook_url = receiver
    alerts = rules_file(tmp_path, hook_url, '[[rule]]\nkind = "backlog"\ncount = 5\n')
    async with make_client(Settings(redis_url=server_url, alerts=alerts)) as client:
        page = await client.get("/admin/queues/alerts")
        assert page.status_code == 200
        assert "more than 5 waiting" in page.text and SECRET not in page.text
        token = await csrf_token(client)
        browser = {"origin": "http://testserver"}
        refused = await client.post("/admin/queues/alerts/test", headers=browser)  # no token
        assert refused.status_code == 403
        sent = await client.post(
            "/admin/queues/alerts/test",
            headers={**browser, "x-csrf-token": token, "hx-request": "true"},
        )
        assert sent.status_code == 200 and "ops: 200" in sent.text
        listed = (await client.get("/admin/queues/api/alerts")).json()
    assert hook.texts() == ["[test] Drainboard alerts reach this destination."]
    assert [(s["event"], s["result"]) for s in listed["sent"]] == [("test", "200")]


async def test_without_rules_the_page_says_how_and_a_test_is_refused(server_url) -> None:
    async with make_client(Settings(redis_url=server_url)) as client:
        page = await client.get("/admin/queues/alerts")
        assert "No alert rules" in page.text
        token = await csrf_token(client)
        refused = await client.post("/admin/queues/alerts/test", headers={"x-csrf-token": token})
        assert refused.status_code == 409
        assert "No destination to test" in refused.text
