"""What a change notice costs an open page: the counts come from the watcher (no command), and
rows are offered ("N new jobs: show"), not re-read."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from bullmq import Queue

from dashboard.config import NamedConnection, Settings
from dashboard.web import create_app
from dashboard.web.routes import connections_view
from tests.helpers import executed_commands, free_port, make_client, serving

HEAD = "/admin/queues/live/queue/mail?status=waiting&page=1&pageSize=25"


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def pill(html: str, state: str) -> int:
    found = re.search(rf'data-state="{state}"[^>]*>\s*[^<]*<span class="pill">([\d,]+)<', html)
    assert found, f"no {state} pill"
    return int(found.group(1).replace(",", ""))


@contextlib.asynccontextmanager
async def queue_page_open(url: str) -> AsyncIterator[tuple[Queue, Any, Any, httpx.Response]]:
    """A queue with one job, the app serving it with a fast watcher, and its page just read."""
    queue = Queue("mail", {"connection": url})
    await queue.add("first", {})
    async with make_client(Settings(redis_url=url, queues=("mail",))) as client:
        watcher = client._transport.app.state.board.watcher  # type: ignore[attr-defined]
        watcher.interval_s = 0.05
        page = await client.get("/admin/queues/queue/mail?status=waiting")
        yield queue, client, watcher, page
    await queue.close()


async def test_refresh_after_a_notice_costs_no_command(r, server_url: str) -> None:
    async with queue_page_open(server_url) as (queue, client, watcher, page):
        assert page.status_code == 200
        assert 'class="new-jobs"' not in page.text
        async with watcher.subscribe("mail") as sub:
            await until(lambda: watcher.counts("mail") is not None)
            sub.changed.clear()
            for n in range(3):
                await queue.add("more", {"n": n})
            await asyncio.wait_for(sub.changed.wait(), 5)
            await until(lambda: watcher.counts("mail").counts["waiting"] == 4)

            before = await executed_commands(r)
            head = await client.get(f"{HEAD}&count=1&seen=0")
            overview = await client.get("/admin/queues/?live=1")
            assert await executed_commands(r) == before  # both answered from the watcher's counts
            assert head.status_code == 200
            assert pill(head.text, "waiting") == 4
            assert "3 new jobs: show" in head.text
            assert "<table" not in head.text  # the rows are offered, not read
            assert overview.status_code == 200
            assert ">4<" in overview.text.replace(",", "")

            # Nothing new since the page read 4: no offer.
            quiet = await client.get(f"{HEAD}&count=4&seen={watcher.arrivals('mail', 'waiting')}")
            assert 'class="new-jobs"' not in quiet.text


async def test_without_the_watcher_the_head_reads_counts_once(r, server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("first", {})
    await queue.close()
    async with make_client(Settings(redis_url=server_url, queues=("mail",))) as client:
        # The connection's handshake and the guard's one-time read are not the fragment's.
        await client.get("/healthz?redis=1")
        await client.get("/admin/queues/static/style.css")
        before = await executed_commands(r)
        head = await client.get(f"{HEAD}&count=0&seen=0")
        assert await executed_commands(r) - before == 9  # 7 counts, the paused flag, the schedulers
        assert head.status_code == 200
        assert "1 new job: show" in head.text


async def test_bad_head_parameters_are_400(server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("first", {})
    await queue.close()
    settings = Settings(redis_url=server_url, queues=("mail",))
    async with make_client(settings) as client:
        for query in ("status=nope", "count=-1", "seen=x", "page=0"):
            answer = await client.get(f"/admin/queues/live/queue/mail?{query}")
            assert answer.status_code == 400, query
        missing = await client.get("/admin/queues/live/queue/nope?status=waiting")
        assert missing.status_code == 404
        orphan = await client.get("/admin/queues/live?job=1")
        assert orphan.status_code == 400


async def test_job_page_listens_to_its_job(server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    job = await queue.add("first", {})
    await queue.close()
    async with make_client(Settings(redis_url=server_url, queues=("mail",))) as client:
        page = await client.get(f"/admin/queues/queue/mail/jobs/{job.id}")
        assert f'data-live="/admin/queues/live?queue=mail&amp;job={job.id}"' in page.text


async def test_cost_panel_says_what_the_open_dashboard_costs(r, server_url: str) -> None:
    async with queue_page_open(server_url) as (queue, client, watcher, page):
        cost = int(re.search(r"This page cost (\d+) Redis", page.text).group(1))
        async with watcher.subscribe("mail"):
            await until(lambda: watcher.counts("mail") is not None)
            await queue.add("second", {})
            await until(lambda: watcher.counts("mail").counts["waiting"] == 2)
            spent = (await client.get("/admin/queues/api/cost")).json()["dashboard"]
            assert spent["openPages"] == 1
            # The watcher's own reads: where the stream stands, its XREADs, the counts it kept.
            assert spent["watcherPerMinute"] == watcher.commands_per_minute() >= 3
            assert spent["pagesPerMinute"] >= cost > 0
            assert spent["perMinute"] == spent["watcherPerMinute"] + spent["pagesPerMinute"]
            fragment = await client.get("/admin/queues/cost/live?measure=1")
            # Over the measured window: this dashboard's own, the rest, and Redis' total.
            assert 'data-part="dashboard"' in fragment.text
            assert "commands a minute: the change watcher" in fragment.text
            assert "Total, from INFO commandstats" in fragment.text


def test_the_front_page_stream_outlives_every_connection_being_down(monkeypatch) -> None:
    """Opened while no connection answers, the front page's stream keeps the page's connection
    alive (and a reload later finds them) instead of ending in an error. Served by uvicorn: an
    in-process client waits for a stream's end."""
    monkeypatch.setattr(connections_view, "KEEP_ALIVE_S", 0.1)
    down = f"redis://127.0.0.1:{free_port()}"
    settings = Settings(
        redis_url=down,
        connections=(
            NamedConnection(name="alpha", redis_url=down),
            NamedConnection(name="beta", redis_url=down),
        ),
    )
    said = ""
    with (
        serving(create_app(settings)) as origin,
        httpx.stream("GET", f"{origin}/admin/queues/live/connections", timeout=10) as stream,
    ):
        assert stream.status_code == 200
        for chunk in stream.iter_text():
            said += chunk
            if said.count(": keep-alive") >= 2:
                break
    assert said.startswith("retry: 5000\n: listening") and said.count(": keep-alive") >= 2, said
