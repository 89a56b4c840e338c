"""Search cost and speed: a text held by one job among 1,000,000 completed, and an id in 50 queues.

Part A fills one queue with a million completed jobs (bench/bulkload.py), gives the *oldest* one
a unique text through bullmq's updateData (so the search must read every job to find it), and
follows the search API's cursor from the newest job to the oldest, as "Search further" would.
Each request's executed commands (INFO commandstats, inside scripts too) are set against the
target of 1.1 x budget + 20; time per request and in all are printed.

Part B adds 49 small queues beside it and times `api/search?id=` for an id every queue holds, an
id one queue holds, and an id none holds, with the executed commands of each request.

There is no reference product to set these against: Bull Board has no search. The reference is
the issue's budget line, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time

import httpx
import redis
from bullmq import Job, Queue

from bench import bulkload
from bench.harness import CommandMeter, DashboardServer, RedisServer, percentile, table

BIG_QUEUE = "reports"
NEEDLE = "needle-4f1c9a"
SMALL_QUEUES = 49
SMALL_JOBS = 20
ONLY_ONE_ID = "only-in-q-17"


async def _plant_needle(url: str, job_id: str) -> None:
    queue = Queue(BIG_QUEUE, {"connection": url})
    try:
        job = await Job.fromId(queue, job_id)
        await job.updateData({**job.data, "note": NEEDLE})
    finally:
        await queue.close()


async def _small_queues(url: str) -> None:
    for n in range(SMALL_QUEUES):
        queue = Queue(f"q-{n:02d}", {"connection": url})
        try:
            await queue.addBulk([{"name": "ping", "data": {"n": i}} for i in range(SMALL_JOBS)])
            if n == 17:
                await queue.add("special", {}, {"jobId": ONLY_ONE_ID})
        finally:
            await queue.close()


def _ms(values: list[float]) -> tuple[str, str, str]:
    ordered = sorted(values)
    return (
        f"{percentile(ordered, 0.50) * 1000:.2f}",
        f"{percentile(ordered, 0.99) * 1000:.2f}",
        f"{ordered[-1] * 1000:.2f}",
    )


def part_a(dash: DashboardServer, meter: CommandMeter, budget: int, expected_id: str) -> None:
    target = 1.1 * budget + 20
    url = f"{dash.base_url}{dash.base_path}/api/queues/{BIG_QUEUE}/search"
    params: dict[str, str | int] = {"status": "completed", "data": NEEDLE, "budget": budget}
    times: list[float] = []
    executed: list[int] = []
    reported: list[int] = []
    found: list[str] = []
    cursor: str | None = "0"
    with httpx.Client(timeout=60) as http:
        started = time.perf_counter()
        while cursor is not None:
            before = meter.start()
            t0 = time.perf_counter()
            answer = http.get(url, params={**params, "cursor": cursor})
            times.append(time.perf_counter() - t0)
            executed.append(meter.since(before))
            answer.raise_for_status()
            body = answer.json()
            reported.append(body["commands"])
            found += [job["id"] for job in body["jobs"]]
            cursor = body["cursor"]
        wall = time.perf_counter() - started
    p50, p99, worst = _ms(times)
    print(
        table(
            [
                "budget",
                "requests",
                "found",
                "all: s",
                "all: executed",
                "p50 ms",
                "p99 ms",
                "max ms",
                "executed/req max",
                "target/req",
                "max/target",
            ],
            [
                [
                    f"{budget:,}",
                    f"{len(times):,}",
                    ",".join(found) or "-",
                    f"{wall:.2f}",
                    f"{sum(executed):,}",
                    p50,
                    p99,
                    worst,
                    f"{max(executed):,}",
                    f"{target:,.0f}",
                    f"{max(executed) / target:.3f}",
                ]
            ],
            right=set(range(11)),
        )
    )
    agree = sum(1 for a, b in zip(executed, reported, strict=True) if a == b)
    print(
        f"  the needle is in job {expected_id} (the oldest): "
        + ("found, and only it" if found == [expected_id] else f"PROBLEM: found {found}")
        + f"; the API's own 'commands' equals the measured figure in {agree:,} of "
        f"{len(reported):,} requests",
        flush=True,
    )


def part_b(dash: DashboardServer, meter: CommandMeter, requests: int) -> None:
    url = f"{dash.base_url}{dash.base_path}/api/search"
    rows = []
    with httpx.Client(timeout=30) as http:
        for label, job_id in (
            ("in every queue", "5"),
            ("in one queue", ONLY_ONE_ID),
            ("in no queue", "no-such-id"),
        ):
            for _ in range(10):  # warm up: scripts loaded, connections open
                http.get(url, params={"id": job_id}).raise_for_status()
            times, executed, hits = [], [], 0
            for _ in range(requests):
                before = meter.start()
                t0 = time.perf_counter()
                answer = http.get(url, params={"id": job_id})
                times.append(time.perf_counter() - t0)
                executed.append(meter.since(before))
                hits = len(answer.json()["jobs"])
            rows.append([label, job_id, f"{hits}", *_ms(times), f"{min(executed)}-{max(executed)}"])
    print(
        table(
            ["id", "value", "queues with it", "p50 ms", "p99 ms", "max ms", "executed/req"],
            rows,
            right={2, 3, 4, 5, 6},
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.search", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--jobs", type=int, default=1_000_000, help="completed jobs to search")
    parser.add_argument("--budgets", default="1000,5000", help="budgets to walk the queue with")
    parser.add_argument("--requests", type=int, default=200, help="timed id searches per case")
    parser.add_argument("--server", choices=("redis", "valkey"), default="redis")
    args = parser.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",")]

    server = RedisServer(args.server).start()
    print(
        f"bench/search.py: {server.version}; Python {platform.python_version()}; "
        f"{os.cpu_count()} cores; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    dash = None
    try:
        started = time.perf_counter()
        loaded = bulkload.load(server.url, BIG_QUEUE, args.jobs, 0)
        expected = loaded.oldest_completed_id
        asyncio.run(_plant_needle(server.url, expected))
        asyncio.run(_small_queues(server.url))
        r = redis.Redis.from_url(server.url)
        print(
            f"Loaded {args.jobs:,} completed jobs and {SMALL_QUEUES} small queues in "
            f"{time.perf_counter() - started:.1f} s; {r.dbsize():,} keys",
            flush=True,
        )
        r.close()
        dash = DashboardServer(server.url).start()
        meter = CommandMeter(server.url)
        print(
            f"\n== Part A: search {args.jobs:,} completed jobs for a text only the oldest holds =="
        )
        for budget in budgets:
            part_a(dash, meter, budget, expected)
        print(
            f"\n== Part B: id search across {SMALL_QUEUES + 1} queues, {args.requests} GETs each =="
        )
        part_b(dash, meter, args.requests)
        meter.close()
    finally:
        if dash is not None:
            dash.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
