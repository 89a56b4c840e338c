"""POST /api/v1/cron/drain-queues, exactly as seeds 000 and 001 describe it."""

from __future__ import annotations

import httpx
import pytest
from bullmq import Queue

from dashboard.config import Settings
from tests.helpers import make_client

CRON = "/api/v1/cron/drain-queues"


def cron_client(url: str | None, **extra: object) -> httpx.AsyncClient:
    settings = Settings(
        redis_url=url,
        processors="tests.drain_processors:PROCESSORS",
        cron_tokens=("new-token", "old-secret", "legacy"),
        **extra,
    )
    return make_client(settings)


async def add_mail(url: str, n: int) -> None:
    queue = Queue("mail", {"connection": url})
    await queue.addBulk([{"name": "m", "data": {"i": i}} for i in range(n)])
    await queue.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Cron-Secret": "old-secret"},
        {"X-Cron-Token": "new-token"},
        {"Authorization": "Bearer legacy"},
    ],
)
async def test_each_header_and_each_token_drains(server_url: str, headers: dict) -> None:
    await add_mail(server_url, 3)
    async with cron_client(server_url) as http:
        response = await http.post(CRON, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] is True and body["totalProcessed"] == 3 and body["totalFailed"] == 0
        assert set(body) == {"ok", "durationMs", "totalProcessed", "totalFailed", "queues"}
        assert body["queues"]["mail"]["jobsProcessed"] == 3


async def test_bad_token_and_no_token_are_401(server_url: str) -> None:
    await add_mail(server_url, 1)
    async with cron_client(server_url) as http:
        assert (await http.post(CRON)).status_code == 401
        wrong = await http.post(CRON, headers={"X-Cron-Secret": "nope"})
        assert wrong.status_code == 401 and wrong.json()["error"].endswith(".")


async def test_drain_token_opens_nothing_else(server_url: str) -> None:
    await add_mail(server_url, 1)
    async with cron_client(server_url, token="dashboard-token") as http:
        for path in ("/admin/queues/api/queues", "/admin/queues/api/queues/mail/jobs"):
            response = await http.get(path, headers={"Authorization": "Bearer new-token"})
            assert response.status_code == 401
        retry = await http.post(
            "/admin/queues/api/queues/mail/retry", headers={"Authorization": "Bearer old-secret"}
        )
        assert retry.status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "queue=nope",
        "maxDurationMs=0",
        "maxDurationMs=600001",
        "maxDurationMs=abc",
        "maxConcurrentQueues=0",
        "maxJobsPerQueue=-1",
    ],
)
async def test_bad_parameters_are_400(server_url: str, query: str) -> None:
    await add_mail(server_url, 1)
    async with cron_client(server_url) as http:
        response = await http.post(f"{CRON}?{query}", headers={"X-Cron-Secret": "old-secret"})
        assert response.status_code == 400, query
        assert (await http.get("/admin/queues/api/queues")).json()["queues"][0]["counts"][
            "waiting"
        ] == 1


async def test_one_queue_and_job_cap(server_url: str) -> None:
    await add_mail(server_url, 5)
    async with cron_client(server_url) as http:
        response = await http.post(
            f"{CRON}?queue=mail&maxJobsPerQueue=2&maxDurationMs=10000&maxConcurrentQueues=1",
            headers={"X-Cron-Secret": "old-secret"},
        )
        assert response.json()["queues"]["mail"]["jobsProcessed"] == 2


async def test_rate_limit_is_12_per_minute_per_client(server_url: str) -> None:
    async with cron_client(server_url) as http:
        for _ in range(12):
            assert (
                await http.post(CRON, headers={"X-Cron-Secret": "old-secret"})
            ).status_code == 200
        limited = await http.post(CRON, headers={"X-Cron-Secret": "old-secret"})
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_no_redis_configured_is_500() -> None:
    async with cron_client(None) as http:
        response = await http.post(CRON, headers={"X-Cron-Secret": "old-secret"})
        assert response.status_code == 500 and "REDIS_URL" in response.json()["error"]


async def test_dashboard_drain_button_and_history(server_url: str) -> None:
    await add_mail(server_url, 2)
    async with cron_client(server_url, token="t") as http:
        auth = {"Authorization": "Bearer t"}
        response = await http.post("/admin/queues/api/drain", headers=auth)
        assert response.json()["totalProcessed"] == 2
        page = await http.get("/admin/queues/drains", headers=auth)
        assert page.status_code == 200 and "dashboard" in page.text
    async with cron_client(server_url, token="t", read_only=True) as http:
        refused = await http.post("/admin/queues/api/drain", headers={"Authorization": "Bearer t"})
        assert refused.status_code == 403
