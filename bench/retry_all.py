"""Retry-all over 100,000 failed jobs: wall time, Python peak memory and Redis commands.

    .venv/bin/python bench/retry_all.py [--jobs 100000]

Starts its own Debian redis-server on a free port. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.actions import Actions
from dashboard.reader import Reader
from tests.conftest import _wait_for, free_port
from tests.integration.test_bulk_actions import load_failed


async def run(url: str, jobs: int) -> None:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    print(f"loading {jobs:,} failed jobs…", flush=True)
    await load_failed(url, jobs)
    actions = Actions(client, "bull", Reader(client, "bull"))
    stats_before = await client.info("commandstats")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    outcome = await actions.retry_all("bulk", "failed")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats_after = await client.info("commandstats")
    calls = {
        name: stats_after[name]["calls"] - stats_before.get(name, {"calls": 0})["calls"]
        for name in stats_after
    }
    print(outcome.message)
    print(f"retry-all of {jobs:,} failed jobs: {elapsed:.2f} s")
    print(f"Python heap peak during the action (tracemalloc): {peak / 1024:.0f} KiB")
    print(
        f"process max RSS before / after: {rss_before / 1024:.0f} / "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    print(
        f"client round trips: {calls.get('cmdstat_evalsha', 0)} EVALSHA, "
        f"executed commands {sum(calls.values()) - 1:,} (incl. inside the scripts)"
    )
    print(
        f"Bull Board reference (DESIGN.md): 6.2 s, loads every job; target {6.2 / 5:.2f} s; "
        f"ratio ours/Bull Board = {elapsed / 6.2:.2f}"
    )
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    port = free_port()
    workdir = tempfile.mkdtemp()
    server = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}"
    try:
        _wait_for(url)
        asyncio.run(run(url, args.jobs))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
