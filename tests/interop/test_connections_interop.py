"""Several Redis servers in one dashboard (issue 27): two Redis 7 servers and the three-node
cluster at once, Node BullMQ producing on each. Per connection the counts equal Node's, an
action lands on its own server and nowhere else, a search by id finds a job on either, the
front page groups the queues and says what each connection's group cost, as that server
executed it, and a server that stops takes only its own pages down.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Any

import pytest
import redis
from bullmq import Queue
from starlette.routing import Route

from dashboard.bullmq.keys import STATES
from dashboard.config import NamedConnection, Settings
from dashboard.web.registry import base_routes
from tests.helpers import (
    OwnRedis,
    executed_calls,
    make_client,
    make_jobs,
    node_json,
    primaries_of,
)

pytestmark = pytest.mark.interop

BASE = "/admin/queues"
API = f"{BASE}/api"
BEARER = {"Authorization": "Bearer t"}
CLUSTER_PREFIX = "{bull}"


def settings_for(a: OwnRedis, b: OwnRedis, cluster_url: str | None = None) -> Settings:
    connections = [
        NamedConnection(name="alpha", redis_url=a.url),
        NamedConnection(name="beta", redis_url=b.url),
    ]
    if cluster_url:
        connections.append(
            NamedConnection(name="big", redis_url=cluster_url, prefix=CLUSTER_PREFIX)
        )
    return Settings(redis_url=a.url, token="t", connections=tuple(connections))


def produce(node: str, url: str, queue: str, cluster: bool = False) -> dict[str, Any]:
    env = {**os.environ, "REDIS_CLUSTER": "1"} if cluster else None
    prefix = CLUSTER_PREFIX if cluster else "bull"
    view = node_json(node, "produce.mjs", "5", url, prefix, queue, timeout=90, env=env)
    return view["queues"]


async def add_plain(url: str, queue: str, job_id: str) -> None:
    q = Queue(queue, {"connection": url})
    await q.add("plain", {"on": url}, {"jobId": job_id})
    await q.close()


async def test_counts_actions_and_search_per_connection(
    node: str, two_redis: tuple[OwnRedis, OwnRedis], cluster_url: str
) -> None:
    a, b = two_redis
    made = {
        "alpha": produce(node, a.url, "north"),
        "beta": produce(node, b.url, "south"),
        "big": produce(node, cluster_url, "east", cluster=True),
    }
    # A queue of the same name on two servers, each with its own job.
    await add_plain(a.url, "shared", "on-alpha")
    await add_plain(b.url, "shared", "on-beta")
    async with make_client(settings_for(a, b, cluster_url)) as http:
        # Every queue names its connection, and its counts equal Node's on that server.
        body = (await http.get(f"{API}/queues", headers=BEARER)).json()
        assert body["unreachable"] == []
        served = {(q["connection"], q["name"]): q for q in body["queues"]}
        for connection, queues in made.items():
            for name, want in queues.items():
                got = served[(connection, name)]
                assert got["counts"] == {s: want["counts"].get(s, 0) for s in STATES}, name
                assert got["isPaused"] == want["isPaused"], name
        assert {k for k in served if k[1] == "shared"} == {("alpha", "shared"), ("beta", "shared")}
        one = (await http.get(f"{API}/queues?connection=beta", headers=BEARER)).json()
        assert {q["connection"] for q in one["queues"]} == {"beta"}

        listed = (await http.get(f"{API}/connections", headers=BEARER)).json()["connections"]
        assert [(c["name"], c["reachable"], c["cluster"]) for c in listed] == [
            ("alpha", True, False),
            ("beta", True, False),
            ("big", True, True),
        ]

        # A queue on one connection needs none named; one on two is refused with their names.
        assert (await http.get(f"{API}/queues/south/jobs", headers=BEARER)).status_code == 200
        ambiguous = await http.get(f"{API}/queues/shared/jobs", headers=BEARER)
        assert ambiguous.status_code == 409
        assert "alpha, beta" in ambiguous.json()["error"]
        page = await http.get(f"{BASE}/c/beta/queue/shared", headers=BEARER)
        assert page.status_code == 200
        # Links on a connection's page stay on the connection.
        assert f'href="{BASE}/c/beta/queue/shared/jobs/on-beta"' in page.text
        # Today's bookmark form opens the queue where it lives.
        bookmark = await http.get(f"{BASE}/queue/east", headers=BEARER)
        assert bookmark.status_code == 200 and "east" in bookmark.text

        # An action lands on its own server only: retry the failed jobs of `shared`'s twin.
        failed_north = made["alpha"]["north"]["counts"]["failed"]
        assert failed_north > 0
        retried = await http.post(f"{API}/queues/north/retry?connection=alpha", headers=BEARER)
        assert retried.status_code == 200, retried.text
        assert redis.Redis.from_url(a.url).zcard("bull:north:failed") == 0
        assert redis.Redis.from_url(b.url).exists("bull:north:failed") == 0
        on_b = redis.Redis.from_url(b.url).zcard("bull:south:failed")
        assert on_b == made["beta"]["south"]["counts"]["failed"]
        removed = await http.delete(
            f"{API}/queues/shared/jobs/on-beta?connection=beta", headers=BEARER
        )
        assert removed.status_code == 200, removed.text
        assert redis.Redis.from_url(b.url).exists("bull:shared:on-beta") == 0
        assert redis.Redis.from_url(a.url).exists("bull:shared:on-alpha") == 1

        # A search by id looks in every connection and finds the job where it is.
        found = (await http.get(f"{API}/search?id=on-alpha", headers=BEARER)).json()["jobs"]
        assert [(j["connection"], j["queue"]) for j in found] == [("alpha", "shared")]
        east_id = next(iter(made["big"]["east"]["jobs"]))
        found = (await http.get(f"{API}/search?id={east_id}", headers=BEARER)).json()["jobs"]
        assert ("big", "east") in {(j["connection"], j["queue"]) for j in found}
        jump = await http.get(f"{BASE}/search?id=on-alpha", headers=BEARER)
        assert jump.status_code == 303
        assert jump.headers["location"] == f"{BASE}/c/alpha/queue/shared/jobs/on-alpha"

        # The front page: a group per connection, each saying what it cost as its server
        # executed it (INFO commandstats, less the INFO calls themselves).
        nodes = {"alpha": primaries_of(a.url), "beta": primaries_of(b.url)}
        nodes["big"] = primaries_of(cluster_url, cluster=True)
        before = {name: executed_calls(each) for name, each in nodes.items()}
        front = await http.get(f"{BASE}/", headers=BEARER)
        after = {name: executed_calls(each) for name, each in nodes.items()}
        assert front.status_code == 200
        groups = re.findall(
            r'data-connection="([^"]+)".*?data-commands="(\d+)"', front.text, flags=re.S
        )
        # Less the first INFO, which each node counts in the second reading.
        executed = {name: after[name] - before[name] - len(nodes[name]) for name in after}
        assert {name: int(n) for name, n in groups} == executed
        footer = re.search(r"This page cost ([\d,]+) Redis command", front.text)
        assert footer and int(footer.group(1).replace(",", "")) == sum(executed.values())
        sections = {
            m.group(1): m.group(0)
            for m in re.finditer(r'data-connection="([^"]+)".*?</section>', front.text, re.S)
        }
        for connection, queues in made.items():
            for name in queues:
                assert f'data-queue="{name}"' in sections[connection], (connection, name)
                assert f'href="{BASE}/c/{connection}/queue/{name}"' in sections[connection]
        # The switcher lists each connection's queues under its name.
        assert re.search(r'switcher-connection" data-connection="big"', front.text)
        assert f'href="{BASE}/c/big/queue/east"' in front.text


async def test_a_server_that_stops_takes_only_its_own_pages_down(
    two_redis: tuple[OwnRedis, OwnRedis],
) -> None:
    a, b = two_redis
    await add_plain(a.url, "kept", "k1")
    await add_plain(b.url, "lost", "l1")
    async with make_client(settings_for(a, b)) as http:
        assert (await http.get(f"{BASE}/", headers=BEARER)).status_code == 200
        b.stop()
        front = await http.get(f"{BASE}/", headers=BEARER)
        assert front.status_code == 200
        assert 'data-queue="kept"' in front.text
        assert re.search(r'data-connection="beta".*?data-state="unreachable"', front.text, re.S)
        assert "This Redis is not reachable" in front.text
        assert (await http.get(f"{BASE}/c/alpha/queue/kept", headers=BEARER)).status_code == 200
        down = await http.get(f"{BASE}/c/beta/queue/lost", headers=BEARER)
        assert down.status_code == 503
        listed = (await http.get(f"{API}/connections", headers=BEARER)).json()["connections"]
        assert [(c["name"], c["reachable"]) for c in listed] == [("alpha", True), ("beta", False)]
        every = (await http.get(f"{API}/queues", headers=BEARER)).json()
        assert [q["name"] for q in every["queues"]] == ["kept"]
        assert [u["connection"] for u in every["unreachable"]] == ["beta"]

        # It comes back by itself: no restart of the dashboard.
        b.start()
        await add_plain(b.url, "lost", "l1")
        back = await http.get(f"{BASE}/c/beta/queue/lost", headers=BEARER)
        assert back.status_code == 200
        front = await http.get(f"{BASE}/", headers=BEARER)
        assert re.search(r'data-connection="beta".*?data-state="reachable"', front.text, re.S)


async def test_drains_and_metrics_per_connection(two_redis: tuple[OwnRedis, OwnRedis]) -> None:
    a, b = two_redis
    for url, count in ((a.url, 3), (b.url, 2)):
        for n in range(count):
            await add_plain(url, "mail", f"m{n}")
    settings = replace(
        settings_for(a, b),
        processors="tests.drain_processors:PROCESSORS",
        cron_tokens=("c",),
    )
    cron = "/api/v1/cron/drain-queues"
    async with make_client(settings) as http:
        # One connection, named: only its jobs are processed.
        one = await http.post(f"{cron}?connection=beta", headers={"X-Cron-Secret": "c"})
        assert one.status_code == 200, one.text
        assert one.json()["totalProcessed"] == 2
        assert redis.Redis.from_url(a.url).llen("bull:mail:wait") == 3
        assert redis.Redis.from_url(b.url).zcard("bull:mail:completed") == 2
        unknown = await http.post(f"{cron}?connection=gamma", headers={"X-Cron-Secret": "c"})
        assert unknown.status_code == 404
        # None named: every connection in one call, at once, within the same maxDurationMs.
        for n in range(4):
            await add_plain(b.url, "mail", f"again{n}")
        every = await http.post(f"{cron}?maxDurationMs=20000", headers={"X-Cron-Secret": "c"})
        assert every.status_code == 200, every.text
        body = every.json()
        assert body["totalProcessed"] == 7
        assert body["queues"]["alpha:mail"]["jobsProcessed"] == 3
        assert body["queues"]["beta:mail"]["jobsProcessed"] == 4
        assert set(body["connections"]) == {"alpha", "beta"}
        assert redis.Redis.from_url(a.url).zcard("bull:mail:completed") == 3

        # Prometheus: one scrape, every connection's series labelled with it.
        scrape = (await http.get("/metrics", headers=BEARER)).text
        assert 'bullmq_jobs{connection="alpha",queue="mail",state="completed"} 3.0' in scrape
        assert 'bullmq_jobs{connection="beta",queue="mail",state="completed"} 6.0' in scrape
        assert 'drainboard_drain_runs_total{connection="beta",trigger="cron"} 2.0' in scrape
        assert 'drainboard_drain_runs_total{connection="alpha",trigger="cron"} 1.0' in scrape


async def test_every_page_works_on_a_named_connection_and_costs_only_its_server(
    two_redis: tuple[OwnRedis, OwnRedis],
) -> None:
    """Every GET route under /c/beta/: answered as on a dashboard of its own, its figure equal
    to what beta's server executed, and nothing spent on alpha's (nobody looks at it)."""
    a, b = two_redis
    ids = await make_jobs(b.url, "mail", "bull")
    queue = Queue("mail", {"connection": b.url})
    await queue.upsertJobScheduler("nightly", {"pattern": "0 2 * * *"}, "report", {})
    await queue.close()
    filled = {"queue": "mail", "job_id": ids["failed"], "field": "data"}
    routes = [
        (route.name, route.path.format(**filled))
        for route in base_routes()
        if isinstance(route, Route)
        and "GET" in (route.methods or ())
        and route.name not in ("live", "live_groups")  # streams: they never end
    ]
    alpha, beta = primaries_of(a.url), primaries_of(b.url)
    rows = []
    async with make_client(settings_for(a, b)) as http:
        for _, path in routes:  # load the scripts and the queue names first
            await http.get(f"{BASE}/c/beta{path}", headers=BEARER)
        for name, path in routes:
            before = executed_calls(alpha), executed_calls(beta)
            answer = await http.get(f"{BASE}/c/beta{path}", headers=BEARER)
            spent = executed_calls(alpha) - before[0] - 1, executed_calls(beta) - before[1] - 1
            rows.append((name, answer.status_code, answer.headers.get("x-redis-commands"), spent))
            assert f'href="{BASE}/queue/' not in answer.text, f"{name} links off the connection"
    # The same routes on a dashboard of beta's own answer the same (400 for a search without
    # its id, 404 for single sign-on when none is configured).
    async with make_client(Settings(redis_url=b.url, token="t")) as own:
        alone = [(await own.get(f"{BASE}{path}", headers=BEARER)).status_code for _, path in routes]
    report = "\n".join(f"{n:24} {s} header={h} alpha={sa} beta={sb}" for n, s, h, (sa, sb) in rows)
    print(report)
    assert [status for _, status, _, _ in rows] == alone, report
    # api/connections PINGs every connection: the one route that reads alpha too.
    assert all(
        h == str(sa + sb) and (sa == 0 or n == "api_connections") for n, _, h, (sa, sb) in rows
    ), report
