"""Every action through the JSON API on real servers, checked against BullMQ's own view."""

from __future__ import annotations

import uuid

import httpx
from bullmq import Queue, Worker

from dashboard.config import Settings
from tests.helpers import make_client, make_jobs

BEARER = {"Authorization": "Bearer s3cret"}
API = "/admin/queues/api/queues/mail"


def bearer_client(url: str, **settings: object) -> httpx.AsyncClient:
    return make_client(Settings(redis_url=url, token="s3cret", **settings))


async def counts(http: httpx.AsyncClient) -> dict[str, int]:
    [queue] = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
    return queue["counts"]


async def test_retry_one_failed_job(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with bearer_client(server_url) as http:
        response = await http.post(f"{API}/jobs/{ids['failed']}/retry", headers=BEARER)
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
        assert (await counts(http))["failed"] == 0
        job = (await http.get(f"{API}/jobs/{ids['failed']}", headers=BEARER)).json()
        assert job["state"] == "waiting" and job["failedReason"] is None


async def test_wrong_state_is_409_and_changes_nothing(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with bearer_client(server_url) as http:
        before = await counts(http)
        for path in (f"{API}/jobs/{ids['waiting']}/retry", f"{API}/jobs/{ids['failed']}/promote"):
            response = await http.post(path, headers=BEARER)
            assert response.status_code == 409
            assert "waiting" in response.json()["error"] or "failed" in response.json()["error"]
        assert await counts(http) == before
        missing = await http.post(f"{API}/jobs/nope/retry", headers=BEARER)
        assert missing.status_code == 404


async def test_promote_one_and_all(server_url: str) -> None:
    ids = await make_jobs(server_url)
    queue = Queue("mail", {"connection": server_url})
    await queue.add("later", {}, {"delay": 600_000})
    await queue.close()
    async with bearer_client(server_url) as http:
        one = await http.post(f"{API}/jobs/{ids['delayed']}/promote", headers=BEARER)
        assert one.status_code == 200
        assert (await counts(http))["delayed"] == 1
        rest = await http.post(f"{API}/promote", headers=BEARER)
        assert rest.json()["count"] == 1
        assert (await counts(http))["delayed"] == 0


async def test_remove_refuses_active_job(server_url: str) -> None:
    ids = await make_jobs(server_url)
    worker = Worker("mail", None, {"connection": server_url, "autorun": False})
    active = await worker.getNextJob(uuid.uuid4().hex)
    try:
        async with bearer_client(server_url) as http:
            refused = await http.delete(f"{API}/jobs/{active.id}", headers=BEARER)
            assert refused.status_code == 409 and "active" in refused.json()["error"]
            removed = await http.delete(f"{API}/jobs/{ids['completed']}", headers=BEARER)
            assert removed.status_code == 200
            gone = await http.get(f"{API}/jobs/{ids['completed']}", headers=BEARER)
            assert gone.status_code == 404
    finally:
        await worker.close(force=True)


async def test_clean_with_grace_and_limit(server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.addBulk([{"name": "n", "data": {"i": i}} for i in range(30)])
    await queue.close()
    async with bearer_client(server_url) as http:
        kept = await http.post(f"{API}/clean?status=waiting&grace=3600000", headers=BEARER)
        assert kept.json()["count"] == 0
        some = await http.post(f"{API}/clean?status=waiting&grace=0&limit=10", headers=BEARER)
        assert some.json()["count"] == 10
        assert (await counts(http))["waiting"] == 20
        rest = await http.post(f"{API}/clean?status=waiting", headers=BEARER)
        assert rest.json() == {"ok": True, "message": "Cleaned 20 waiting jobs.", "count": 20}
        for query in ("status=active", "grace=-1", "limit=0", "status=nope"):
            bad = await http.post(f"{API}/clean?{query}", headers=BEARER)
            assert bad.status_code == 400, query


async def test_pause_and_resume(server_url: str) -> None:
    await make_jobs(server_url)
    async with bearer_client(server_url) as http:
        await http.post(f"{API}/pause", headers=BEARER)
        [queue] = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
        assert queue["isPaused"] is True
        await http.post(f"{API}/resume", headers=BEARER)
        bull = Queue("mail", {"connection": server_url})
        assert await bull.isPaused() is False
        await bull.close()


async def test_read_only_refuses_every_action(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with bearer_client(server_url, read_only=True) as http:
        before = await counts(http)
        for method, path in [
            ("POST", f"{API}/jobs/{ids['failed']}/retry"),
            ("POST", f"{API}/jobs/{ids['delayed']}/promote"),
            ("DELETE", f"{API}/jobs/{ids['completed']}"),
            ("POST", f"{API}/retry?status=failed"),
            ("POST", f"{API}/promote"),
            ("POST", f"{API}/clean?status=completed"),
            ("POST", f"{API}/pause"),
            ("POST", f"{API}/resume"),
        ]:
            response = await http.request(method, path, headers=BEARER)
            assert response.status_code == 403, path
            assert "read-only" in response.json()["error"]
        assert await counts(http) == before
        page = await http.get("/admin/queues/queue/mail?status=failed", headers=BEARER)
        assert "Retry all" not in page.text and "read-only" in page.text
