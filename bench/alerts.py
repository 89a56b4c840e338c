"""What alert rules add to the change watcher's cost, on idle queues.

    .venv/bin/python -m bench.alerts [--seconds 60] [--server redis|valkey]

A fresh server with 5 queues (one waiting job each, then idle). Executed Redis commands (INFO
commandstats, the meter's own INFOs taken out) are measured over `--seconds`, in one process:
first the watcher alone, kept running by one subscriber as an open page keeps it; then no page
at all and 10 alert rules over the 5 queues, which keep the same watcher running and check
their conditions from its memory. Each phase starts after a 5 s warm-up (the watcher's
start-up reads). Issue 25's target: idle, at most 1 command a minute more than the watcher
alone.

Then the traffic case (--traffic-seconds, 0 to skip): a Python bullmq producer and worker in
the same process add and process 10 jobs/s on q0, one in ten failing (a failure a second). The
server's INFO cannot tell the watcher's commands from the worker's, so the process's own tallies
are compared (redis_client/counting.SPENT: "watcher" and "alerts", each command counted as
sent), for the same two phases. Target: at most 10 more a minute. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bullmq import Queue, Worker

from bench.harness import CommandMeter, RedisServer, command_diff
from dashboard.config import Settings
from dashboard.redis_client.counting import SPENT
from dashboard.web import create_app

QUEUES = [f"q{i}" for i in range(5)]
# Every kind: the watcher's own (failed, backlog, paused, stalled) and those that read a little
# more (latency, unserved, quota, redis with memory: an INFO memory a minute), with their
# default windows.
RULES = """
[destination.ops]
url = "http://127.0.0.1:9/hook"
format = "json"
""" + "".join(
    f'\n[[rule]]\nkind = "{kind}"\n{settings}\n'
    for kind, settings in [
        ("failed", 'queues = "*"\ncount = 5'),
        ("failed", 'queues = "q0"\ncount = 0'),
        ("backlog", 'queues = "*"\ncount = 100'),
        ("backlog", 'queues = "q1"\nage_seconds = 600'),
        ("paused", 'queues = "*"'),
        ("stalled", 'queues = "*"'),
        ("unserved", 'queues = "*"'),
        ("quota", "percent = 100"),
        ("redis", "minutes = 1\npercent = 90"),
        ("backlog", 'queues = "q[0-2]"\ncount = 10'),
    ]
)


async def traffic(url: str, stop: asyncio.Event) -> None:
    async def process(job: Any, token: str) -> str:
        if job.data["i"] % 10 == 0:
            raise ValueError("card declined")
        return "ok"

    queue = Queue("q0", {"connection": url})
    worker = Worker("q0", process, {"connection": url})
    i = 1
    while not stop.is_set():
        await queue.add("charge", {"i": i})
        i += 1
        await asyncio.sleep(0.1)
    await worker.close()
    await queue.close()


@contextlib.asynccontextmanager
async def watching(board: Any, alerts: str | None) -> AsyncIterator[None]:
    """The watcher running as alert rules keep it (no page open), or, without rules, for one
    open page: what each phase compares."""
    if not alerts:
        async with board.watcher.subscribe():
            yield
        return
    running = asyncio.create_task(board.alerts.watch(board.watcher))
    try:
        yield
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def busy_phase(url: str, alerts: str | None, seconds: float) -> tuple[int, int]:
    """The watcher's and the alerts' own commands (as sent) over `seconds` of traffic."""
    app = create_app(Settings(redis_url=url, alerts=alerts))
    board = app.state.board
    await board.catalog.names()
    async with watching(board, alerts):
        await asyncio.sleep(5)
        before = dict(SPENT)
        stop = asyncio.Event()
        producing = asyncio.create_task(traffic(url, stop))
        await asyncio.sleep(seconds)
        spent = {k: SPENT[k] - before.get(k, 0) for k in ("watcher", "alerts")}
        stop.set()
        await producing
    await board.redis.aclose()
    return spent["watcher"], spent["alerts"]


async def phase(url: str, alerts: str | None, seconds: float) -> tuple[int, dict[str, int], int]:
    app = create_app(Settings(redis_url=url, alerts=alerts))
    board = app.state.board
    await board.catalog.names()
    meter = CommandMeter(url)
    async with watching(board, alerts):
        await asyncio.sleep(5)
        before, start = meter.per_command(), meter.start()
        await asyncio.sleep(seconds)
        spent, per = meter.since(start), command_diff(before, meter.per_command())
    meter.close()
    await board.redis.aclose()
    return spent, per, board.alerts.checks


async def seed(url: str) -> None:
    for name in QUEUES:
        queue = Queue(name, {"connection": url})
        await queue.add("seed", {})
        await queue.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--server", choices=["redis", "valkey"], default="redis")
    parser.add_argument("--traffic-seconds", type=float, default=60)
    args = parser.parse_args()
    server = RedisServer(args.server).start()
    try:
        asyncio.run(seed(server.url))
        with tempfile.TemporaryDirectory() as tmp:
            rules = Path(tmp) / "alerts.toml"
            rules.write_text(RULES)
            alone, alone_per, _ = asyncio.run(phase(server.url, None, args.seconds))
            ruled, ruled_per, checks = asyncio.run(phase(server.url, str(rules), args.seconds))
            busy = args.traffic_seconds
            if busy:
                busy_alone = asyncio.run(busy_phase(server.url, None, busy))
                busy_ruled = asyncio.run(busy_phase(server.url, str(rules), busy))
    finally:
        server.stop()
    minutes = args.seconds / 60
    print(f"{server.version}, 5 idle queues, {args.seconds:g} s per phase")
    print(f"watcher alone (one page): {alone} commands ({alone / minutes:.1f}/min) {alone_per}")
    print(
        f"10 rules, no page:        {ruled} commands ({ruled / minutes:.1f}/min) {ruled_per}"
        f"; {checks} checks"
    )
    extra = (ruled - alone) / minutes
    print(f"rules add {extra:+.1f} commands a minute (target: at most +1)")
    if busy:
        per = busy / 60
        alone_w, _ = busy_alone
        ruled_w, ruled_a = busy_ruled
        print(f"traffic, 10 jobs/s on q0 and a failure a second, {busy:g} s per phase:")
        print(f"  watcher alone (one page): watcher {alone_w} ({alone_w / per:.1f}/min)")
        print(
            f"  10 rules, no page:        watcher {ruled_w} ({ruled_w / per:.1f}/min), "
            f"alerts {ruled_a} ({ruled_a / per:.1f}/min)"
        )
        more = (ruled_w + ruled_a - alone_w) / per
        print(f"  rules add {more:+.1f} commands a minute (target: at most +10)")


if __name__ == "__main__":
    t0 = time.monotonic()
    main()
    print(f"({time.monotonic() - t0:.0f} s)")
