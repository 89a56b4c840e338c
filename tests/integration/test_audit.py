"""The audit trail on real servers: every write route of the route table, called as people and
scripts call it, is found in the trail with its user, action, queue and outcome; reads write
nothing; a change costs one XADD; the page and `api/audit` filter and page through it."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import socket
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from starlette.routing import Route

from dashboard import cli
from dashboard.bullmq.keys import audit_key
from dashboard.config import Settings
from dashboard.web import registry
from tests.helpers import make_client, make_jobs

BASE = "/admin/queues"
CRON = "c-token"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# What each write route is sent: a plausible body, so most of them do their change.
BODIES: dict[str, dict[str, Any]] = {
    "add_job": {"name": "n", "data": {"a": 1}},
    "update_data": {"a": 2},
    "change_priority": {"priority": 3},
    "change_delay": {"delay": 1000},
    "set_concurrency": {"concurrency": 2},
    "set_rate_limit": {"max": 10, "duration": 1000},
}
# Called last, in this order: they end the queue or the session.
LAST = ("empty", "obliterate", "logout")


def write_routes() -> list[tuple[str, str, str, bool]]:
    """(name, method, path, under the base path) of every route that may change something."""
    found = []
    for under, routes in (
        (True, registry.base_routes()),
        (False, registry.outside_base_routes()),
    ):
        for route in routes:
            if isinstance(route, Route):
                for method in sorted((route.methods or set()) & WRITES):
                    found.append((route.name, method, route.path, under))
    return sorted(found, key=lambda r: (r[0] in LAST, LAST.index(r[0]) if r[0] in LAST else 0))


def settings(url: str) -> Settings:
    return Settings(
        processors="tests.drain_processors:PROCESSORS",
        redis_url=url,
        username="ops",
        password="pw",
        secret_key="k",
        token="t0k",
        cron_tokens=(CRON,),
    )


async def sign_in(http: httpx.AsyncClient) -> str:
    """Sign in as a browser does; the CSRF token the pages carry."""
    origin = {"Origin": "http://testserver"}
    answer = await http.post(
        f"{BASE}/login", data={"username": "ops", "password": "pw"}, headers=origin
    )
    assert answer.status_code in (200, 303), answer.text
    page = await http.get(f"{BASE}/")
    token = page.text.split('"X-CSRF-Token": "')[1].split('"')[0]
    return token


async def trail(http: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    answer = await http.get(
        f"{BASE}/api/audit", params=filters, headers={"Authorization": "Bearer t0k"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


async def trail_xadds(r: aioredis.Redis) -> int:
    """XADDs Redis executed that were not BullMQ's own events (its scripts add those): the
    trail's, each of which must be one entry in it."""
    executed = int((await r.info("commandstats")).get("cmdstat_xadd", {}).get("calls", 0))
    trail_xadds = executed - await r.xlen("bull:mail:events")
    assert trail_xadds == await r.xlen(audit_key("bull"))
    return trail_xadds


async def test_every_write_route_is_in_the_trail_with_its_user(server_url: str) -> None:
    ids = await make_jobs(server_url)
    r = aioredis.Redis.from_url(server_url)
    called: list[tuple[str, int]] = []
    async with make_client(settings(server_url)) as http:
        csrf = await sign_in(http)
        browser = {"Origin": "http://testserver", "X-CSRF-Token": csrf, "HX-Request": "1"}
        for name, method, path, under in write_routes():
            if name == "login":
                continue  # signed in above: its entry is checked below
            filled = path.format(queue="mail", job_id=ids["failed"], scheduler_id="none")
            url = f"{BASE}{filled}" if under else filled
            headers = {"X-Cron-Token": CRON} if name == "cron_drain" else browser
            answer = await http.request(method, url, json=BODIES.get(name), headers=headers)
            assert answer.status_code < 500, (name, answer.status_code, answer.text)
            if name == "cron_drain":
                # The queue is paused by now: an idle cron tick is logged, not stored.
                assert answer.json()["totalProcessed"] == 0
                continue
            called.append((name, answer.status_code))
        # The bearer token, for the same route: a script's entry.
        await http.post(f"{BASE}/api/queues/mail/pause", headers={"Authorization": "Bearer t0k"})
        entries = await trail(http)
    await r.aclose()
    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_action.setdefault(entry["action"], []).append(entry)
    assert by_action["login"][0]["user"] == "ops" and by_action["login"][0]["outcome"] == "done"
    for name, status in called:
        assert name in by_action, f"{name} is not in the trail"
        entry = by_action[name][-1]  # the oldest: the bearer call to pause came after
        expected_user = "cron token" if name == "cron_drain" else "ops"
        assert entry["user"] == expected_user, (name, entry)
        assert entry["status"] == status, (name, entry)
        assert entry["role"] == "admin" and entry["from"] == "127.0.0.1"
        if "{queue}" in next(p for n, _, p, _ in write_routes() if n == name):
            assert entry["queue"] == "mail", (name, entry)
    assert by_action["pause"][0]["user"] == "API token"
    assert by_action["drain_now"][-1]["trigger"] == "dashboard"
    assert "cron_drain" not in by_action
    retry = by_action["retry_job"][-1]
    assert retry["job"] == ids["failed"] and retry["outcome"] == "done", retry
    assert by_action["set_concurrency"][-1]["params"] == {"concurrency": 2}


async def test_a_change_costs_one_xadd_and_reads_none(own_server_url: str) -> None:
    ids = await make_jobs(own_server_url)
    r = aioredis.Redis.from_url(own_server_url)
    bearer = {"Authorization": "Bearer t0k"}
    async with make_client(settings(own_server_url)) as http:
        before = await trail_xadds(r)
        for path in (
            "/",
            "/queue/mail?status=failed",
            f"/queue/mail/jobs/{ids['failed']}",
            "/audit",
        ):
            assert (await http.get(f"{BASE}{path}", headers=bearer)).status_code == 200
        assert await trail_xadds(r) == before, "a read wrote to the trail"
        retried = await http.post(
            f"{BASE}/api/queues/mail/jobs/{ids['failed']}/retry", headers=bearer
        )
        assert retried.status_code == 200
        assert await trail_xadds(r) == before + 1
        # Refused before any route (a wrong token): nothing changed, nothing recorded.
        wrong = await http.post(
            f"{BASE}/api/queues/mail/pause", headers={"Authorization": "Bearer x"}
        )
        assert wrong.status_code == 401 and await trail_xadds(r) == before + 1
        # Refused by the route (the job is no longer failed): recorded, as refused.
        again = await http.post(
            f"{BASE}/api/queues/mail/jobs/{ids['failed']}/retry", headers=bearer
        )
        assert again.status_code == 409 and await trail_xadds(r) == before + 2
        entries = await trail(http)
    await r.aclose()
    assert [e["outcome"] for e in entries[:2]] == ["refused", "done"]
    assert entries[0]["message"] and entries[0]["status"] == 409


async def test_a_cron_drain_that_worked_is_stored_with_its_trigger(server_url: str) -> None:
    await make_jobs(server_url)
    async with make_client(settings(server_url)) as http:
        worked = await http.post("/api/v1/cron/drain-queues", headers={"X-Cron-Token": CRON})
        idle = await http.post("/api/v1/cron/drain-queues", headers={"X-Cron-Token": CRON})
        entries = await trail(http, action="cron_drain")
    assert worked.json()["totalFailed"] + worked.json()["totalProcessed"] > 0, worked.text
    assert idle.json()["totalProcessed"] == idle.json()["totalFailed"] == 0, idle.text
    assert len(entries) == 1, entries
    assert entries[0]["trigger"] == "cron" and entries[0]["user"] == "cron token"


async def test_filters_pages_and_bad_input(server_url: str) -> None:
    await make_jobs(server_url)
    bearer = {"Authorization": "Bearer t0k"}
    async with make_client(settings(server_url)) as http:
        for _ in range(3):
            await http.post(f"{BASE}/api/queues/mail/pause", headers=bearer)
        await http.post(f"{BASE}/api/queues/nope/pause", headers=bearer)
        assert [e["action"] for e in await trail(http, outcome="refused")] == ["pause"]
        assert len(await trail(http, action="pause", queue="mail")) == 3
        assert await trail(http, user="someone else") == []
        page = await http.get(f"{BASE}/audit", params={"action": "pause"}, headers=bearer)
        assert page.status_code == 200 and page.text.count('data-action="pause"') == 4
        assert page.headers["x-redis-commands"] == "1"
        for bad in (
            {"before": "x"},
            {"before": "0-0"},
            {"before": f"{2**64}-0"},
            {"outcome": "maybe"},
            {"user": "u" * 201},
        ):
            answer = await http.get(f"{BASE}/api/audit", params=bad, headers=bearer)
            assert answer.status_code == 400 and answer.json()["error"], bad


async def test_each_change_is_one_json_log_line(
    server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await make_jobs(server_url)
    caplog.set_level(logging.INFO, logger="drainboard.audit")
    async with make_client(settings(server_url)) as http:
        await http.post(
            f"{BASE}/api/queues/mail/jobs",
            json={"name": "n", "data": {"password": "p"}, "token": "x"},
            headers={"Authorization": "Bearer t0k"},
        )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "drainboard.audit"]
    assert len(lines) == 1 and lines[0]["action"] == "add_job" and lines[0]["user"] == "API token"
    # Secrets and job data never reach the trail.
    assert "token" not in lines[0]["params"] and lines[0]["params"]["data"].endswith("bytes")


def test_a_cli_drain_that_worked_names_its_account_and_host(server_url: str) -> None:
    asyncio.run(make_jobs(server_url))
    flags = ["--redis-url", server_url, "--processors", "tests.drain_processors:PROCESSORS"]
    assert cli.main(["drain", *flags]) in (0, 1)  # `mail`'s processor fails some jobs
    assert cli.main(["drain", *flags]) == 0  # nothing left: logged, not stored
    r = redis.Redis.from_url(server_url, decode_responses=True)
    entries = [json.loads(fields["entry"]) for _, fields in r.xrange(audit_key("bull"))]
    r.close()
    assert len(entries) == 1, entries
    entry = entries[0]
    assert (entry["action"], entry["trigger"]) == ("drain", "cli")
    assert entry["user"] == getpass.getuser() and entry["from"] == socket.gethostname()
    assert entry["count"] >= 1
