"""What a Prometheus scrape of /metrics costs in Redis commands.

    .venv/bin/python -m bench.prometheus [--server redis|valkey] [--scrapes 10]

Five queues holding a few jobs, idle, on a fresh server; `drainboard serve` in a child process.
After one warm-up scrape, `--scrapes` scrapes 1 s apart; executed commands from INFO
commandstats. The reference, measured in the same run on the same server: re-reading every
queue's counts per scrape (9 commands a queue), as /metrics did before. Then a job is added and
the bench checks the next scrape shows it. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
from bullmq import Queue
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import CommandMeter, DashboardServer, RedisServer, command_diff
from dashboard.bullmq.reader import Reader
from dashboard.redis_client.connection import connect

QUEUES = ("mail", "sms", "billing", "reports", "webhooks")


async def fill(url: str) -> None:
    for name in QUEUES:
        queue = Queue(name, {"connection": url})
        await queue.add("job", {"n": 1})
        await queue.close()


async def add_one(url: str, name: str) -> None:
    queue = Queue(name, {"connection": url})
    await queue.add("job", {"n": 2})
    await queue.close()


async def reference(url: str, scrapes: int, meter: CommandMeter) -> int:
    """The old /metrics: every queue's nine counts re-read on every scrape."""
    client = connect(url)
    reader = Reader(client, "bull")
    await reader.summaries(list(QUEUES))  # connect first: the handshake is not a scrape
    start = meter.start()
    for _ in range(scrapes):
        await reader.summaries(list(QUEUES))
    spent = meter.since(start)
    await client.aclose()
    return spent


def waiting(text: str, queue: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "bullmq_jobs" and sample.labels == {
                "queue": queue,
                "state": "waiting",
            }:
                return sample.value
    return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="redis", choices=("redis", "valkey"))
    parser.add_argument("--scrapes", type=int, default=10)
    args = parser.parse_args()

    server = RedisServer(args.server).start()
    dashboard = None
    try:
        asyncio.run(fill(server.url))
        meter = CommandMeter(server.url)
        before_ref = asyncio.run(reference(server.url, args.scrapes, meter))
        dashboard = DashboardServer(server.url).start()
        with httpx.Client(base_url=dashboard.base_url, timeout=30) as http:
            start = meter.start()
            http.get("/metrics").raise_for_status()
            warm = meter.since(start)
            time.sleep(1)
            stats, start = meter.per_command(), meter.start()
            for _ in range(args.scrapes):
                http.get("/metrics").raise_for_status()
                time.sleep(1)
            idle = meter.since(start)
            diff = command_diff(stats, meter.per_command())
            diff.pop("info", None)

            asyncio.run(add_one(server.url, "sms"))
            time.sleep(1.2)  # the watcher tells of a change after its 1 s settle
            start = meter.start()
            shown = waiting(http.get("/metrics").text, "sms")
            after_change = meter.since(start)

        print(f"server: {server.kind} {server.version}, {len(QUEUES)} idle queues")
        print(f"warm-up scrape: {warm} executed commands")
        print(
            f"{args.scrapes} idle scrapes 1 s apart: {idle} executed commands in all "
            f"{diff or ''} (target <= 2)"
        )
        print(
            f"reference, re-reading every queue per scrape: {before_ref} executed commands "
            f"for {args.scrapes} scrapes; ratio {idle / before_ref:.4f}"
        )
        print(
            f"after adding a job to 'sms': the next scrape shows waiting={shown:g} (expected 2) "
            f"and cost {after_change} executed commands (its metric totals)"
        )
    finally:
        if dashboard is not None:
            dashboard.stop()
        server.stop()


if __name__ == "__main__":
    main()
