"""Pages at scale: 1,000 queues on one Redis 7, and on a three-node Redis Cluster beside it.

    .venv/bin/python -m bench.scale [--queues 1000] [--requests 200] [--traffic [--rate 100]]

Each target holds the same queues, written through the `bullmq` package (3 waiting and 1 delayed
job each): a single Debian redis-server with the `{bull}` prefix; a three-node cluster with the
`{bull}` prefix (every queue in one slot, so on one node); and the same cluster with queues named
with their own hash tags (`{tenant-0042}`, spread over the three nodes). For each, `drainboard
serve` runs in its own process, and the overview (first and last page of 50 queues) and one
queue page are fetched `--requests` times: p50/p99 in ms, executed Redis commands per request
(INFO commandstats, summed over every node), and the cluster's time against the single node's.
Targets (issue 16): overview p99 <= 50 ms, commands per render <= 9 x queues shown, plus the
latency of each with jobs waiting (issue 25): 1 more a queue here (a SORT), 2 on the cluster
(which refuses SORT's GET: LRANGE and HMGET), so 500 and 550 for a page of 50.

With --traffic, each target's timing runs under steady job traffic (bench/harness.py Traffic):
Node BullMQ adding --rate jobs a second to 3 of the queues (not the one whose page is timed),
workers completing them, a job scheduler and a flow in the first. Commands are then what our
server says each answer cost (its X-Redis-Commands header), as INFO would count the traffic too.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from urllib.parse import quote

from bullmq import Queue

from bench.harness import (
    CommandMeter,
    DashboardServer,
    RawHttp,
    RedisServer,
    Traffic,
    free_port,
    percentile,
    table,
)
from dashboard.redis_client.connection import connect
from tests.redis_cluster import RedisClusterForTests

BASE = "/admin/queues"
SHOWN = 50
BUSY = 3  # queues the traffic runs on


def busy_queues(names: list[str], timed: str, count: int) -> list[str]:
    """`count` queues spread over `names` (the first, then evenly), never the `timed` one."""
    others = [name for name in names if name != timed]
    step = max(1, len(others) // count)
    return others[::step][:count]


@dataclass
class Target:
    label: str
    urls: list[str]  # every node, for the command meter
    prefix: str
    names: list[str]
    cluster: bool


async def fill(url: str, cluster: bool, prefix: str, names: list[str]) -> None:
    client = connect(url, cluster=cluster)
    try:
        for name in names:
            queue = Queue(name, {"connection": client, "prefix": prefix})
            for i in range(3):
                await queue.add("job", {"i": i})
            await queue.add("later", {}, {"delay": 3_600_000})
    finally:
        await client.aclose()


def measure(target: Target, requests: int, rate: float | None) -> list[list[str]]:
    args = ("--prefix", target.prefix) + (("--cluster",) if target.cluster else ())
    middle = target.names[len(target.names) // 2]
    traffic = None
    if rate is not None:
        busy = busy_queues(target.names, middle, BUSY)
        traffic = Traffic(
            target.urls[0], busy, rate, prefix=target.prefix, cluster=target.cluster, extras=True
        )
    board = DashboardServer(target.urls[0], BASE, args).start()
    meters = [CommandMeter(url) for url in target.urls]
    raw = RawHttp(board.base_url)
    last_page = -(-len(target.names) // SHOWN)
    routes = [
        ("overview, page 1", f"{BASE}/"),
        (f"overview, page {last_page}", f"{BASE}/?page={last_page}"),
        ("queue page", f"{BASE}/queue/{quote(middle, safe='')}"),
    ]
    rows = []
    completed_before = traffic.completed() if traffic else 0
    started = time.perf_counter()
    try:
        for label, path in routes:
            for _ in range(10):
                status, _ = raw.get(path)
                if status != 200:
                    raise SystemExit(f"{target.label}: GET {path} answered {status}")
            before = [meter.start() for meter in meters]
            samples = []
            said = 0  # what our server says the answers cost (X-Redis-Commands)
            for _ in range(requests):
                t0 = time.perf_counter()
                raw.get(path)
                samples.append((time.perf_counter() - t0) * 1000)
                said += int(raw.headers[b"x-redis-commands"])
            executed = sum(m.since(b) for m, b in zip(meters, before, strict=True))
            spent = (said if traffic else executed) / requests
            samples.sort()
            rows.append(
                [
                    target.label,
                    label,
                    f"{percentile(samples, 0.5):.2f}",
                    f"{percentile(samples, 0.99):.2f}",
                    f"{spent:.1f}",
                ]
            )
            print(f"  {target.label} {label}: {rows[-1][2:]}", flush=True)
        if traffic:
            done = traffic.completed() - completed_before
            seconds = time.perf_counter() - started
            print(f"  {target.label}: {traffic.describe(done, seconds)}", flush=True)
    finally:
        raw.close()
        for meter in meters:
            meter.close()
        board.stop()
        if traffic:
            traffic.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--traffic", action="store_true", help="time under steady job traffic")
    parser.add_argument("--rate", type=float, default=100, help="traffic jobs a second")
    args = parser.parse_args()
    plain = [f"tenant-{i:04d}" for i in range(args.queues)]
    tagged = [f"{{tenant-{i:04d}}}" for i in range(args.queues)]

    single = RedisServer("redis").start()
    cluster = RedisClusterForTests.start([(free_port(), free_port()) for _ in range(3)])
    nodes = [node.url for node in cluster.nodes]
    targets = [
        Target(f"single {single.version}", [single.url], "{bull}", plain, False),
        Target("cluster x3, {bull}", nodes, "{bull}", plain, True),
        Target("cluster x3, {tenant} names", nodes, "bull", tagged, True),
    ]
    rows: list[list[str]] = []
    try:
        print(f"Filling {args.queues:,} queues on each target…", flush=True)
        asyncio.run(fill(single.url, False, "{bull}", plain))
        asyncio.run(fill(cluster.url, True, "{bull}", plain))
        asyncio.run(fill(cluster.url, True, "bull", tagged))
        for target in targets:
            rows += measure(target, args.requests, args.rate if args.traffic else None)
    finally:
        single.stop()
        cluster.stop()

    baseline = {row[1]: float(row[3]) for row in rows if row[0] == targets[0].label}
    for row in rows:
        row.append(f"{float(row[3]) / baseline[row[1]]:.2f}x")
    print()
    print(f"{args.queues:,} queues, {SHOWN} per overview page, {args.requests} requests per route")
    if args.traffic:
        print(
            f"Under traffic: {args.rate:g} jobs/s on {BUSY} queues, a job scheduler and a flow "
            "(per target above); commands = our X-Redis-Commands header, per request"
        )
    else:
        print("Idle; commands = executed (INFO commandstats delta over every node), per request")
    print(table(["target", "page", "p50 ms", "p99 ms", "commands", "p99 vs single"], rows))


if __name__ == "__main__":
    main()
