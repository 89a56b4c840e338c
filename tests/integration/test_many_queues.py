"""1,000 queues on one Redis: discovery is one SCAN pass at start-up, and an overview render
reads the 50 queues on screen only (9 commands each, and 1 for the latency of each with a job
waiting), filtered, a page at a time."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.bullmq.discovery import SCAN_BATCH
from dashboard.bullmq.reader import SUMMARY_WIDTH
from dashboard.config import Settings
from dashboard.web.routes.pages import OVERVIEW_PAGE_SIZE
from tests.helpers import executed_commands, make_client

QUEUES = [f"tenant-{i:04d}" for i in range(1000)]


@pytest.fixture
async def thousand_queues(r: aioredis.Redis, server_url: str) -> str:
    for name in QUEUES:
        await Queue(name, {"connection": r}).add("job", {"tenant": name})
    await r.config_resetstat()
    return server_url


def cards(html: str) -> list[str]:
    return re.findall(r'data-queue="([^"]+)"', html)


async def test_overview_of_1000_queues_reads_only_the_page_shown(
    r: aioredis.Redis, thousand_queues: str
) -> None:
    keys = await r.dbsize()
    async with make_client(Settings(redis_url=thousand_queues)) as http:
        first = await http.get("/admin/queues/")
        assert first.status_code == 200
        # Discovery: one pass of SCAN over the keyspace, SCAN_BATCH keys a call (a cursor
        # may need one call more than the key count suggests, as the hash table's size decides).
        one_pass = -(-keys // SCAN_BATCH) + 1
        scans = await executed_commands(r, "scan")
        assert 1 <= scans <= one_pass
        assert cards(first.text) == QUEUES[:OVERVIEW_PAGE_SIZE]
        assert "1,000 queues" in first.text

        before = await executed_commands(r)
        last = await http.get("/admin/queues/?page=20")
        spent = await executed_commands(r) - before
        assert cards(last.text) == QUEUES[-OVERVIEW_PAGE_SIZE:]
        # The summaries of the 50 shown (7 counts, paused flag, schedulers: 9 each) and, as each
        # has a job waiting, its latency (one SORT each), nothing else: the other 950 queues
        # cost nothing.
        assert spent == (SUMMARY_WIDTH + 1) * OVERVIEW_PAGE_SIZE == 10 * OVERVIEW_PAGE_SIZE
        assert await executed_commands(r, "sort") == OVERVIEW_PAGE_SIZE * 2  # and the first page
        assert await executed_commands(r, "scan") == scans  # no scan per view

        filtered = await http.get("/admin/queues/", params={"q": "TENANT-07"})
        assert cards(filtered.text) == QUEUES[700:750]
        assert "100 matching" in filtered.text and 'rel="next"' in filtered.text
        second = await http.get("/admin/queues/", params={"q": "tenant-07", "page": "2"})
        assert cards(second.text) == QUEUES[750:800]

        none = await http.get("/admin/queues/", params={"q": "<b>nobody</b>"})
        assert none.status_code == 200 and cards(none.text) == []
        assert "&lt;b&gt;nobody&lt;/b&gt;" in none.text and "<b>nobody" not in none.text

        past = await http.get("/admin/queues/?page=21")
        assert past.status_code == 400 and "page must be between 1 and 20" in past.text


async def test_the_queue_api_pages_and_filters_too(r: aioredis.Redis, thousand_queues: str) -> None:
    async with make_client(Settings(redis_url=thousand_queues)) as http:
        everything = (await http.get("/admin/queues/api/queues")).json()
        assert [q["name"] for q in everything["queues"]] == QUEUES
        assert everything["total"] == 1000

        before = await executed_commands(r)
        answer = await http.get(
            "/admin/queues/api/queues", params={"q": "TENANT-07", "page": "2", "pageSize": "20"}
        )
        spent = await executed_commands(r) - before
        body = answer.json()
        assert [q["name"] for q in body["queues"]] == QUEUES[720:740]
        assert body["queues"][0]["counts"]["waiting"] == 1
        assert (body["total"], body["page"], body["pageSize"], body["pageCount"]) == (100, 2, 20, 5)
        assert body["queues"][0]["latency"] > 0
        assert spent == (SUMMARY_WIDTH + 1) * 20  # the queues returned and their latency

        default = (await http.get("/admin/queues/api/queues", params={"page": "20"})).json()
        assert [q["name"] for q in default["queues"]] == QUEUES[-OVERVIEW_PAGE_SIZE:]
        past = await http.get("/admin/queues/api/queues", params={"page": "21"})
        assert past.status_code == 400 and "page must be between 1 and 20" in past.json()["error"]


async def test_a_page_of_queues_listens_to_the_queues_it_shows(thousand_queues: str) -> None:
    async with make_client(Settings(redis_url=thousand_queues)) as http:
        page = await http.get("/admin/queues/", params={"page": "20"})
        live = re.search(r'data-live="([^"]+)"', page.text)
        assert live is not None
        listened = parse_qs(urlsplit(html.unescape(live[1])).query)["on"]
        assert listened == QUEUES[-OVERVIEW_PAGE_SIZE:]

        too_many = [("on", name) for name in QUEUES[:201]]
        refused = await http.get("/admin/queues/live", params=too_many)
        assert refused.status_code == 400 and "at most 200 queues" in refused.text
