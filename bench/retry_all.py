"""Retry-all over 100,000 failed jobs: wall time, peak memory and Redis commands, then the same
for Bull Board's "retry all failed" (PUT /admin/queues/api/queues/<queue>/retry/failed) on the
same jobs, reloaded, in the same run.

    .venv/bin/python bench/retry_all.py [--jobs 100000] [--no-bull-board]

Starts its own Debian redis-server on a free port. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import httpx
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bullboard
from bench.harness import RedisServer
from dashboard.bullmq.reader import Reader
from dashboard.writes.actions import Actions
from tests.integration.test_bulk_actions import load_failed


def executed(before: dict, after: dict) -> dict[str, int]:
    """Calls per command between two INFO commandstats, the second INFO itself taken out."""
    calls = {
        name: after[name]["calls"] - before.get(name, {"calls": 0})["calls"]
        for name in after
        if name.startswith("cmdstat_")
    }
    calls["cmdstat_info"] = calls.get("cmdstat_info", 1) - 1
    return calls


async def run(url: str, jobs: int, skip_bull_board: str | None) -> None:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    print(f"loading {jobs:,} failed jobs…", flush=True)
    await load_failed(url, jobs)
    actions = Actions(client, "bull", Reader(client, "bull"))
    stats_before = await client.info("commandstats")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    bullboard.reset_peak_rss("self")
    tracemalloc.start()
    started = time.perf_counter()
    outcome = await actions.retry_all("bulk", "failed")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_rss = bullboard.status_kib("self", "VmHWM")
    calls = executed(stats_before, await client.info("commandstats"))
    print(outcome.message)
    print(f"retry-all of {jobs:,} failed jobs: {elapsed:.2f} s")
    print(f"Python heap peak during the action (tracemalloc): {peak / 1024:.0f} KiB")
    print(
        f"process max RSS after loading: {rss_before / 1024:.0f} MiB; "
        f"peak RSS during the action (VmHWM, reset just before): {peak_rss / 1024:.0f} MiB"
    )
    print(
        f"client round trips: {calls.get('cmdstat_evalsha', 0)} EVALSHA, "
        f"executed commands {sum(calls.values()):,} (incl. inside the scripts)"
    )

    if skip_bull_board is not None:
        print(
            f"\nBull Board: NOT RUN ({skip_bull_board}). "
            f"DESIGN.md reference: 6.2 s; ratio ours/Bull Board = {elapsed / 6.2:.2f}"
        )
        await client.aclose()
        return

    await client.flushall()
    print(f"\nreloading the same {jobs:,} failed jobs for Bull Board…", flush=True)
    await load_failed(url, jobs)
    board = bullboard.BullBoardServer(url, ["bulk"]).start()
    try:
        print(bullboard.versions(), flush=True)
        idle_rss = board.rss_kib()
        board.reset_peak_rss()
        stats_before = await client.info("commandstats")
        async with httpx.AsyncClient(base_url=board.base_url, timeout=3600) as http:
            started = time.perf_counter()
            response = await http.put(f"{board.base_path}/api/queues/bulk/retry/failed")
            bb_elapsed = time.perf_counter() - started
        bb_calls = executed(stats_before, await client.info("commandstats"))
        bb_peak = board.peak_rss_kib()
    finally:
        board.stop()
    if response.status_code != 200:
        raise SystemExit(f"Bull Board answered {response.status_code}: {response.text[:2000]}")
    left = await client.zcard("bull:bulk:failed")
    waiting = await client.llen("bull:bulk:wait")
    print(f"Bull Board answered {response.text}; afterwards {left:,} failed, {waiting:,} waiting")
    print(f"Bull Board retry-all of {jobs:,} failed jobs: {bb_elapsed:.2f} s")
    print(
        f"Bull Board Node process RSS before: {idle_rss / 1024:.0f} MiB; "
        f"peak during the action (VmHWM, reset just before): {bb_peak / 1024:.0f} MiB"
    )
    print(
        f"Bull Board client round trips: {bb_calls.get('cmdstat_evalsha', 0):,} EVALSHA, "
        f"executed commands {sum(bb_calls.values()):,} (incl. inside the scripts)"
    )
    print(
        f"\nratio ours/Bull Board: time {elapsed / bb_elapsed:.3f} "
        f"({bb_elapsed / elapsed:.1f}x faster), peak RSS {peak_rss / bb_peak:.2f}, "
        f"executed commands {sum(calls.values()) / max(1, sum(bb_calls.values())):.2f}"
    )
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    bullboard.add_flag(parser)
    args = parser.parse_args()
    skip_bull_board = bullboard.why_not(args.bull_board)
    server = RedisServer("redis").start()
    try:
        asyncio.run(run(server.url, args.jobs, skip_bull_board))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
