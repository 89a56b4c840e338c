"""Job schedulers on real servers: made by the `bullmq` package, listed, run now and removed
through the dashboard, and checked against the package's own getJobSchedulers()."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.bullmq.keys import QueueKeys
from dashboard.bullmq.schedulers import drain_pickup, scheduler_page
from dashboard.config import Settings
from dashboard.redis_client.counting import tally
from tests.helpers import make_client

BEARER = {"Authorization": "Bearer s3cret"}
API = "/admin/queues/api/queues/nightly"
PAGE = "/admin/queues/queue/nightly/schedulers"


@pytest.fixture
async def queue(server_url: str) -> AsyncIterator[Queue]:
    q = Queue("nightly", {"connection": server_url})
    await q.upsertJobScheduler(
        "rollup",
        {"pattern": "0 2 * * *", "tz": "Europe/Paris"},
        "analytics-rollup",
        {"scope": "all"},
        {"attempts": 3},
    )
    await q.upsertJobScheduler("heartbeat", {"every": 60_000, "limit": 100}, "ping", {"n": 1})
    yield q
    await q.close()


async def test_list_matches_the_package_own_view(queue: Queue, server_url: str) -> None:
    theirs = await queue.getJobSchedulers()
    async with make_client(Settings(redis_url=server_url, token="s3cret")) as http:
        answer = await http.get(API + "/schedulers", headers=BEARER)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 2
    ours = {s["id"]: s for s in body["schedulers"]}
    assert [s["id"] for s in body["schedulers"]] == [s["key"] for s in theirs]
    for their in theirs:
        mine = ours[their["key"]]
        assert mine["next"] == their["next"]
        assert mine["name"] == their["name"]
        for field in ("pattern", "every", "tz", "iterationCount", "limit"):
            assert mine[field] == their.get(field), field
    rollup = ours["rollup"]
    assert rollup["template"]["data"] == {"scope": "all"}
    assert rollup["template"]["opts"]["attempts"] == 3
    assert rollup["startDate"] is None and rollup["endDate"] is None
    assert ours["heartbeat"]["every"] == 60_000 and ours["heartbeat"]["limit"] == 100


async def test_page_is_two_round_trips_bounded_by_page_size(
    queue: Queue, server_url: str, r: aioredis.Redis
) -> None:
    for n in range(30):
        await queue.upsertJobScheduler(f"extra-{n:02d}", {"every": 3_600_000 + n})
    async with make_client(Settings(redis_url=server_url, token="s3cret")) as http:
        first = (await http.get(API + "/schedulers?pageSize=5", headers=BEARER)).json()
        last = (await http.get(API + "/schedulers?pageSize=5&page=7", headers=BEARER)).json()
        beyond = (await http.get(API + "/schedulers?pageSize=5&page=9", headers=BEARER)).json()
    assert first["total"] == last["total"] == 32
    assert len(first["schedulers"]) == 5 and len(last["schedulers"]) == 2
    assert beyond["schedulers"] == []
    for size in (5, 20):
        with tally() as spent:
            await scheduler_page(r, QueueKeys("bull", "nightly"), 1, size)
        assert spent.commands == 2 + 2 * size


async def test_html_tab_shows_pattern_in_words_and_the_drain(queue: Queue, server_url: str) -> None:
    settings = Settings(redis_url=server_url, drain_every=300)
    async with make_client(settings) as http:
        page = await http.get(PAGE)
        overview = await http.get("/admin/queues/")
    assert page.status_code == 200
    assert "At 02:00 AM" in page.text
    assert "Europe/Paris" in page.text
    assert "every 1 min 0 s" in page.text
    assert "drain picks it up" in page.text
    assert 'data-scheduler-id="rollup"' in page.text
    assert "2 schedulers" in overview.text


async def test_run_now_promotes_the_pending_job(queue: Queue, server_url: str) -> None:
    [their] = [s for s in await queue.getJobSchedulers() if s["key"] == "rollup"]
    job_id = f"repeat:rollup:{their['next']}"
    async with make_client(Settings(redis_url=server_url, token="s3cret")) as http:
        ran = await http.post(API + "/schedulers/rollup/run", headers=BEARER)
        assert ran.status_code == 200, ran.text
        assert await queue.getJobState(job_id) == "waiting"
        again = await http.post(API + "/schedulers/rollup/run", headers=BEARER)
        assert again.status_code == 409
        assert "waiting" in again.json()["error"]
        missing = await http.post(API + "/schedulers/nope/run", headers=BEARER)
        assert missing.status_code == 404


async def test_remove_deletes_scheduler_and_pending_job(queue: Queue, server_url: str) -> None:
    [their] = [s for s in await queue.getJobSchedulers() if s["key"] == "rollup"]
    job_id = f"repeat:rollup:{their['next']}"
    assert await queue.getJobState(job_id) == "delayed"
    async with make_client(Settings(redis_url=server_url, token="s3cret")) as http:
        gone = await http.delete(API + "/schedulers/rollup", headers=BEARER)
        assert gone.status_code == 200, gone.text
        again = await http.delete(API + "/schedulers/rollup", headers=BEARER)
        assert again.status_code == 404
    assert [s["key"] for s in await queue.getJobSchedulers()] == ["heartbeat"]
    assert await queue.getJobState(job_id) == "unknown"


async def test_run_now_is_refused_once_the_job_is_due(queue: Queue, server_url: str) -> None:
    """An `every` scheduler's first job is due at once: it waits, and there is nothing to run."""
    async with make_client(Settings(redis_url=server_url, token="s3cret")) as http:
        page = await http.get(PAGE, headers=BEARER)
        ran = await http.post(API + "/schedulers/heartbeat/run", headers=BEARER)
    assert ran.status_code == 409 and "waiting" in ran.json()["error"]
    row = page.text.split('data-scheduler-id="heartbeat"')[1].split("</tr>")[0]
    assert "Run now" not in row and "Remove" in row


async def test_read_only_refuses_and_keeps_everything(queue: Queue, server_url: str) -> None:
    async with make_client(Settings(redis_url=server_url, read_only=True)) as http:
        for answer in (
            await http.post(API + "/schedulers/rollup/run"),
            await http.delete(API + "/schedulers/rollup"),
        ):
            assert answer.status_code in (403,), answer.text
    assert len(await queue.getJobSchedulers()) == 2


@pytest.mark.parametrize(
    "query", ["page=0", "pageSize=0", "pageSize=100000", "page=x", "pageSize=-1"]
)
async def test_bad_paging_is_400(queue: Queue, server_url: str, query: str) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        answer = await http.get(f"{API}/schedulers?{query}")
    assert answer.status_code == 400
    assert answer.json()["status"] == 400


def test_drain_pickup_is_the_first_drain_at_or_after_the_run() -> None:
    assert drain_pickup(None, 300) is None
    assert drain_pickup(1_000, None) is None
    assert drain_pickup(600_000, 300) == 600_000
    assert drain_pickup(600_001, 300) == 900_000


async def test_unknown_queue_is_404(server_url: str) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        assert (await http.get("/admin/queues/api/queues/nope/schedulers")).status_code == 404
        assert (await http.get("/admin/queues/queue/nope/schedulers")).status_code == 404


async def test_csrf_is_needed_for_the_buttons(queue: Queue, server_url: str) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        # A browser's htmx click carries Origin; without the CSRF token it is refused.
        browser = {"hx-request": "true", "Origin": "http://testserver"}
        answer = await http.post(API + "/schedulers/rollup/run", headers=browser)
    assert answer.status_code == 403 and "CSRF" in answer.text


async def test_an_id_with_a_slash_and_a_space_is_one_segment(queue: Queue, server_url: str) -> None:
    await queue.upsertJobScheduler("team/report x", {"pattern": "0 3 * * *"}, "report")
    async with make_client(Settings(redis_url=server_url, token="s3cret")) as http:
        page = await http.get(PAGE, headers=BEARER)
        assert "/schedulers/team%2Freport%20x" in page.text
        gone = await http.delete(API + "/schedulers/team%2Freport%20x", headers=BEARER)
        assert gone.status_code == 200, gone.text
    assert "team/report x" not in [s["key"] for s in await queue.getJobSchedulers()]
