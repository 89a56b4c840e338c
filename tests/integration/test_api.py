"""The JSON API and pages on real servers, with jobs written by the `bullmq` package."""

from __future__ import annotations

import httpx
from bullmq import Queue

from dashboard.config import Settings
from tests.helpers import csrf_token, make_client, make_jobs


async def test_queue_counts(client: httpx.AsyncClient, server_url: str) -> None:
    await make_jobs(server_url)
    response = await client.get("/admin/queues/api/queues")
    assert response.status_code == 200
    [queue] = response.json()["queues"]
    assert queue["name"] == "mail" and queue["isPaused"] is False
    assert queue["counts"] == {
        "active": 0,
        "completed": 1,
        "delayed": 1,
        "failed": 1,
        "paused": 0,
        "prioritized": 1,
        "waiting": 1,
        "waiting-children": 0,
    }


async def test_job_list_and_detail(client: httpx.AsyncClient, server_url: str) -> None:
    ids = await make_jobs(server_url)
    page = (await client.get("/admin/queues/api/queues/mail/jobs?status=failed")).json()
    assert page["total"] == 1 and page["page"] == 1 and page["pageSize"] == 10
    assert [job["id"] for job in page["jobs"]] == [ids["failed"]]
    job = (await client.get(f"/admin/queues/api/queues/mail/jobs/{ids['failed']}")).json()
    assert job["state"] == "failed"
    assert job["failedReason"] == "mailbox full"
    assert "ValueError: mailbox full" in job["stacktrace"][0]
    assert job["data"] == {"to": "b@example.com"}
    done = (await client.get(f"/admin/queues/api/queues/mail/jobs/{ids['completed']}")).json()
    assert done["returnvalue"] == {"sent": True} and done["logs"] == ["sending"]


async def test_pages_render(client: httpx.AsyncClient, server_url: str) -> None:
    ids = await make_jobs(server_url)
    overview = await client.get("/admin/queues/")
    assert overview.status_code == 200 and 'data-queue="mail"' in overview.text
    queue = await client.get("/admin/queues/queue/mail?status=failed")
    assert queue.status_code == 200 and "mailbox full" in queue.text
    job = await client.get(f"/admin/queues/queue/mail/jobs/{ids['failed']}")
    assert job.status_code == 200 and "ValueError" in job.text
    raw = await client.get(f"/admin/queues/queue/mail/jobs/{ids['failed']}/raw/data?download=1")
    assert raw.json() == {"to": "b@example.com"}
    assert raw.headers["content-disposition"].startswith("attachment")


async def test_unknown_queue_and_job_are_404(client: httpx.AsyncClient, server_url: str) -> None:
    await make_jobs(server_url)
    for path in ("/admin/queues/api/queues/nope/jobs", "/admin/queues/api/queues/mail/jobs/999"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json()["error"].endswith(".")
    page = await client.get("/admin/queues/queue/nope")
    assert page.status_code == 404 and "no queue named" in page.text


async def test_bad_parameters_are_400(client: httpx.AsyncClient, server_url: str) -> None:
    await make_jobs(server_url)
    for query, word in [
        ("status=broken", "status"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("pageSize=100000", "pageSize"),
    ]:
        response = await client.get(f"/admin/queues/api/queues/mail/jobs?{query}")
        assert response.status_code == 400, query
        assert word in response.json()["error"]
    html = await client.get("/admin/queues/queue/mail?status=broken")
    assert html.status_code == 400 and "Traceback" not in html.text


async def test_page_cost_does_not_grow_with_queue_size(client, server_url: str, r) -> None:
    await make_jobs(server_url)
    first = await client.get("/admin/queues/api/queues/mail/jobs?status=completed&pageSize=10")
    assert first.status_code == 200
    # Bulk-add 5,000 completed jobs by hand-built ids is not allowed (writes go through BullMQ),
    # so compare the cost of two pages of the same size instead: cost depends on page size only.
    cost = await _commands_for(r, client, "/admin/queues/api/queues/mail/jobs?status=waiting")
    queue = Queue("mail", {"connection": server_url})
    await queue.addBulk([{"name": "bulk", "data": {"n": n}} for n in range(500)])
    await queue.close()
    bigger = await _commands_for(r, client, "/admin/queues/api/queues/mail/jobs?status=waiting")
    # 1 job on the page before, 10 after: one HMGET per job row, nothing per queued job.
    assert bigger - cost == 9


async def _commands_for(r, client: httpx.AsyncClient, path: str) -> int:
    before = await r.info("commandstats")
    assert (await client.get(path)).status_code == 200
    after = await r.info("commandstats")
    total = lambda stats: sum(v["calls"] for v in stats.values())  # noqa: E731
    return total(after) - total(before) - 1  # the INFO call itself


async def test_hash_tag_prefix_and_custom_base_path(server_url: str) -> None:
    await make_jobs(server_url, prefix="{tagged}")
    settings = Settings(redis_url=server_url, prefix="{tagged}", base_path="/ops/bull")
    async with make_client(settings) as http:
        [queue] = (await http.get("/ops/bull/api/queues")).json()["queues"]
        assert queue["counts"]["failed"] == 1
        page = await http.get("/ops/bull/")
        assert 'href="/ops/bull/queue/mail"' in page.text


async def test_discovery_is_cached_until_rescan(client, server_url: str) -> None:
    await make_jobs(server_url, "first")
    assert [q["name"] for q in (await client.get("/admin/queues/api/queues")).json()["queues"]] == [
        "first"
    ]
    await make_jobs(server_url, "second")
    names = [q["name"] for q in (await client.get("/admin/queues/api/queues")).json()["queues"]]
    assert names == ["first"]
    token = await csrf_token(client)
    rescan = await client.post("/admin/queues/rescan", headers={"X-CSRF-Token": token})
    assert rescan.status_code == 303
    names = [q["name"] for q in (await client.get("/admin/queues/api/queues")).json()["queues"]]
    assert names == ["first", "second"]


async def test_configured_queues_skip_the_scan(server_url: str, r) -> None:
    await make_jobs(server_url, "first")
    async with make_client(Settings(redis_url=server_url, queues=("first",))) as http:
        before = (await r.info("commandstats")).get("cmdstat_scan", {}).get("calls", 0)
        assert (await http.get("/admin/queues/api/queues")).status_code == 200
        after = (await r.info("commandstats")).get("cmdstat_scan", {}).get("calls", 0)
        assert after == before
