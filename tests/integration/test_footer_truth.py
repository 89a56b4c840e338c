"""Every GET route's `X-Redis-Commands` header, and its footer where the page has one, equals
what Redis executed for the request per INFO commandstats (scripts' inner commands included),
on Valkey, Redis 7 and a 3-node cluster (summed over the nodes). The routes come from the
registry, so a new route cannot be missed. Writes through the `bullmq` package's scripts too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import redis
from bullmq import FlowProducer, Queue
from starlette.routing import Route

from dashboard.config import Settings
from dashboard.redis_client.connection import connect
from dashboard.redis_client.counting import tally
from dashboard.redis_client.lua import count_scripts, counting_client
from dashboard.web.registry import base_routes, outside_base_routes
from tests.helpers import (
    csrf_token,
    free_port,
    make_client,
    make_jobs,
    start_redis,
    start_valkey,
    wait_for,
)

BASE = "/admin/queues"
FOOTER = re.compile(r"This page cost ([\d,]+) Redis command")
# The SSE streams never end: what they spend is the watchers's, measured by tests/integration/
# test_watch.py. /metrics starts following the streams, so it is measured last (see below).
NOT_A_REQUEST = {"live", "live_groups"}


def get_routes() -> list[tuple[str, str]]:
    """(name, path with its parameters filled) for every GET route."""
    found = []
    for route in [*base_routes(), *outside_base_routes()]:
        if not isinstance(route, Route) or "GET" not in (route.methods or ()):
            continue
        if route.name in NOT_A_REQUEST:
            continue
        under = BASE if route in base_routes() else ""
        found.append((route.name, under + route.path))
    return found


def nodes_of(url: str, cluster: bool) -> list[redis.Redis]:
    if not cluster:
        return [redis.Redis.from_url(url)]
    with redis.RedisCluster.from_url(url) as rc:
        return [redis.Redis(host=n.host, port=n.port) for n in rc.get_primaries()]


def calls(nodes: list[redis.Redis]) -> int:
    return sum(stats["calls"] for node in nodes for stats in node.info("commandstats").values())


@pytest.fixture(params=["valkey", "redis7", "cluster"])
def target(request: pytest.FixtureRequest) -> Iterator[tuple[str, bool]]:
    """A server of the test's own (nothing else may talk to it while it counts), or the
    session's cluster, which only this test uses while it runs."""
    if request.param == "cluster":
        yield request.getfixturevalue("cluster_url"), True
    elif request.param == "valkey":
        valkey = start_valkey()
        yield valkey.connection_url, False
        valkey.stop()
    else:
        port = free_port()
        process = start_redis(port)
        wait_for(f"redis://127.0.0.1:{port}")
        yield f"redis://127.0.0.1:{port}", False
        process.terminate()
        process.wait(10)


async def test_every_get_route_says_what_redis_executed(target: tuple[str, bool]) -> None:
    url, cluster = target
    # On the cluster the queue's name carries the hash tag, as users name them there. The
    # connection must decode: without it bullmq reads job ids back as bytes (b'1') and its
    # moveToFinished fails ("Missing key for job b'1'").
    name = "{mail}" if cluster else "mail"
    quoted = quote(name, safe="")
    connection = redis.asyncio.RedisCluster.from_url(url, decode_responses=True) if cluster else url
    ids = await make_jobs(connection, name, "bull")  # type: ignore[arg-type]
    queue = Queue(name, {"connection": connection, "prefix": "bull"})
    await queue.upsertJobScheduler("nightly", {"pattern": "0 2 * * *"}, "report", {})
    await queue.close()
    if cluster:
        await connection.aclose()  # type: ignore[union-attr]
    filled = {"queue": quoted, "job_id": ids["failed"], "field": "data"}
    paths = [(name, path.format(**filled)) for name, path in get_routes() if name != "metrics"]
    paths += [
        ("unknown queue", f"{BASE}/queue/nope"),
        ("unknown job", f"{BASE}/queue/{quoted}/jobs/999"),
        ("unknown job, JSON", f"{BASE}/api/queues/{quoted}/jobs/999"),
        ("unknown queue, JSON", f"{BASE}/api/queues/nope/jobs"),
        ("bad status", f"{BASE}/queue/{quoted}?status=bogus"),
        ("failed list", f"{BASE}/queue/{quoted}?status=failed"),
        ("text search", f"{BASE}/queue/{quoted}/search?status=failed&data=mailbox"),
        ("text search, JSON", f"{BASE}/api/queues/{quoted}/search?status=failed&data=mailbox"),
        ("find an id", f"{BASE}/search?id={ids['waiting']}"),
        ("no such page", f"{BASE}/nowhere"),
        ("static file", f"{BASE}/static/style.css"),
        ("metrics", "/metrics"),
    ]
    # Writes, after the reads (they change the jobs) and before /metrics starts its watcher.
    added = f"{BASE}/api/queues/{quoted}/jobs"
    writes = [
        ("POST retry a failed job", f"{BASE}/api/queues/{quoted}/jobs/{ids['failed']}/retry"),
        ("POST promote a delayed job", f"{BASE}/api/queues/{quoted}/jobs/{ids['delayed']}/promote"),
        ("POST pause", f"{BASE}/api/queues/{quoted}/pause"),
        ("POST resume", f"{BASE}/api/queues/{quoted}/resume"),
        ("POST add a job, form", added),
        ("POST add a job, JSON", added),
        ("POST add a delayed job, JSON", added),
        ("POST add a prioritized job, form", added),
    ]
    bodies = {
        "POST add a job, form": {"data": {"name": "welcome", "data": '{"to": "a@b.c"}'}},
        "POST add a job, JSON": {"json": {"name": "welcome", "data": {"to": "a@b.c"}}},
        "POST add a delayed job, JSON": {"json": {"name": "later", "opts": {"delay": 60000}}},
        "POST add a prioritized job, form": {"data": {"name": "first", "priority": "3"}},
    }
    nodes = nodes_of(url, cluster)
    settings = Settings(redis_url=url, prefix="bull", cluster=cluster)
    table = []
    async with make_client(settings) as http:
        for _, path in paths[:-1]:  # load the scripts, the queue names, the cluster's layout
            await http.get(path)
        token = await csrf_token(http)
        for name, path in [*paths[:-1], *writes, paths[-1]]:
            method = "POST" if name.startswith("POST") else "GET"
            before = calls(nodes)
            answer = await http.request(
                method, path, headers={"X-CSRF-Token": token}, **bodies.get(name, {})
            )
            # The INFO asked before counts in the INFO asked after: one per node.
            executed = calls(nodes) - before - len(nodes)
            header = answer.headers.get("x-redis-commands")
            footer = FOOTER.search(answer.text)
            table.append((name, path, answer.status_code, header, footer and footer[1], executed))
    for node in nodes:
        node.close()
    report = "\n".join(
        f"{n:28} {s} header={h} footer={f} executed={e}  {p}" for n, p, s, h, f, e in table
    )
    print(report)
    wrong = [row for row in table if row[3] != str(row[5]) or (row[4] and row[4] != str(row[5]))]
    assert not wrong, report


async def test_pipelined_bullmq_scripts_count_what_redis_executed(target: tuple[str, bool]) -> None:
    """Scripts the `bullmq` package queues on a pipeline (jobs added in bulk, a flow) count the
    commands they ran, and hand their callers their own answers."""
    url, cluster = target
    client = connect(url, cluster=cluster)
    counted = counting_client(client)
    name = "{mail}" if cluster else "mail"  # a flow stays in one slot on a cluster
    queue = Queue(name, {"connection": counted, "prefix": "bull"})
    count_scripts(queue.redisConnection.commands)
    flows = FlowProducer({"connection": counted, "prefix": "bull"})
    count_scripts(flows.backend.connection.commands)
    nodes = nodes_of(url, cluster)

    async def bulk() -> list[str]:
        jobs = await queue.addBulk(
            [
                {"name": "now", "data": {}},
                {"name": "later", "data": {}, "opts": {"delay": 60000}},
                {"name": "first", "data": {}, "opts": {"priority": 2}},
            ]
        )
        return [job.id for job in jobs]

    async def flow() -> list[str]:
        children = [{"name": "part", "queueName": name, "data": {"n": n}} for n in range(2)]
        tree = await flows.add({"name": "whole", "queueName": name, "children": children})
        assert tree is not None
        return [tree["job"].id, *(child["job"].id for child in tree["children"])]

    table = []
    for label, add in [("bulk", bulk), ("flow", flow), ("bulk again", bulk), ("flow again", flow)]:
        before = calls(nodes)
        with tally() as spent:
            added = await add()
        executed = calls(nodes) - before - len(nodes)
        table.append((label, spent.commands, executed))
        for job_id in added:  # the script's own answer, unwrapped: a job id that exists
            assert await queue.getJobState(job_id) in {
                "waiting",
                "delayed",
                "prioritized",
                "waiting-children",
            }, job_id
    await flows.close()
    await queue.close()
    await client.aclose()
    for node in nodes:
        node.close()
    print("\n".join(f"{label:12} counted={n} executed={e}" for label, n, e in table))
    assert all(counted_ == executed for _, counted_, executed in table), table


async def test_the_drain_says_what_redis_executed(target: tuple[str, bool]) -> None:
    """The cron endpoint and Drain now: what the drain's probe, Worker, job scripts (their
    inner commands included), handlers and history write executed, in the answer's header.
    From the first drain on a server that has not loaded BullMQ's scripts, through drains that
    complete and fail jobs, to a call that finds nothing."""
    url, cluster = target
    # On a cluster the prefix carries the hash tag: every queue's keys in one slot.
    prefix = "{bull}" if cluster else "bull"
    connection = redis.asyncio.RedisCluster.from_url(url, decode_responses=True) if cluster else url
    queue = Queue("mail", {"connection": connection, "prefix": prefix})
    await queue.add("warm", {})  # the queue exists: the catalog knows it from the start
    settings = Settings(
        redis_url=url,
        prefix=prefix,
        cluster=cluster,
        processors="tests.drain_processors:PROCESSORS",
        cron_tokens=("cron-token",),
    )
    nodes = nodes_of(url, cluster)
    cron = {"X-Cron-Token": "cron-token"}
    table = []
    async with make_client(settings) as http:
        token = await csrf_token(http)
        htmx = {"X-CSRF-Token": token, "HX-Request": "true"}
        steps: list[tuple[str, str, dict[str, str], list[dict[str, Any]]]] = [
            ("cron, first drain", "/api/v1/cron/drain-queues", cron, [{}]),
            ("cron, 3 jobs, 1 failing", "/api/v1/cron/drain-queues", cron, [{}, {"fail": "x"}, {}]),
            ("cron, nothing to do", "/api/v1/cron/drain-queues", cron, []),
            ("cron, nothing again", "/api/v1/cron/drain-queues?queue=mail", cron, []),
            ("Drain now, 2 jobs", f"{BASE}/api/drain", htmx, [{}, {}]),
            ("Drain now, nothing", f"{BASE}/api/drain", htmx, []),
            ("cron, 3 jobs again", "/api/v1/cron/drain-queues", cron, [{}, {}, {}]),
        ]
        for name, path, headers, jobs in steps:
            if jobs:
                await queue.addBulk([{"name": "m", "data": data} for data in jobs])
            before = calls(nodes)
            answer = await http.post(path, headers=headers)
            executed = calls(nodes) - before - len(nodes)
            assert answer.status_code == 200, answer.text
            processed = answer.text if "HX-Request" in headers else answer.json()["totalProcessed"]
            header = answer.headers.get("x-redis-commands")
            table.append((name, header, executed, processed))
    await queue.close()
    if cluster:
        await connection.aclose()  # type: ignore[union-attr]
    for node in nodes:
        node.close()
    report = "\n".join(f"{n:26} header={h} executed={e}  {p}" for n, h, e, p in table)
    print(report)
    assert [row[3] for row in table if isinstance(row[3], int)] == [2, 3, 0, 0, 3], report
    assert all(header == str(executed) for _, header, executed, _ in table), report
