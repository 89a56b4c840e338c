"""How long an alert takes from its condition to the webhook, in `drainboard serve`.

    .venv/bin/python -m bench.alert_delay [--trials 10] [--server redis|valkey]

Issue 25's target: an alert reaches the webhook within 10 s of its condition. One process runs
the dashboard's alerts as `serve` does (the watcher at its default notice interval, 6 s; checks
on each notice and every 5 s) and a webhook receiver under uvicorn on loopback. Each trial makes
a condition on a queue of its own, so that each fires once:
- failed (`count = 0`): a job moved to failed by the Python bullmq package's script;
- backlog (`count = 1`, one job seeded): a second job added.
The delay runs from the moment the script that made the condition returned to the moment the
receiver got the POST. Two situations, `--trials` each:
- idle: trials 8 s apart, nothing else moving (the watcher is blocked in XREAD: it wakes, then
  waits a second for the rest of a burst);
- busy: another queue gets a job a second, and trials fall at random moments (a change may wait
  for the watcher's next notice, up to 6 s).
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import uvicorn
from bullmq import Queue, Worker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.harness import RedisServer, free_port
from dashboard.config import Settings
from dashboard.web import create_app

KINDS = ("failed", "backlog")
SITUATIONS = ("idle", "busy")


def queue_names(trials: int) -> dict[tuple[str, str], list[str]]:
    return {
        (kind, situation): [f"{kind}-{situation}-{i}" for i in range(trials)]
        for kind in KINDS
        for situation in SITUATIONS
    }


async def seed(url: str, names: dict[tuple[str, str], list[str]]) -> None:
    """Every queue exists at start-up (discovery's one SCAN); each backlog queue holds one job."""
    for (kind, _), queues in names.items():
        for name in queues:
            queue = Queue(name, {"connection": url})
            await queue.add("seed", {})
            if kind == "failed":
                await queue.drain()
            await queue.close()
    noise = Queue("noise", {"connection": url})
    await noise.add("seed", {})
    await noise.close()


async def make_condition(url: str, kind: str, name: str) -> float:
    """Make the condition; return when it held (the script's return)."""
    queue = Queue(name, {"connection": url})
    job = await queue.add("charge", {})
    held = time.time()
    if kind == "failed":
        worker = Worker(name, None, {"connection": url, "autorun": False})
        token = uuid.uuid4().hex
        job = await worker.getNextJob(token)
        await job.moveToFailed(ValueError("card declined"), token)
        held = time.time()
        await worker.close(force=True)
    await queue.close()
    return held


async def noise(url: str, stop: asyncio.Event) -> None:
    queue = Queue("noise", {"connection": url})
    while not stop.is_set():
        await queue.add("tick", {})
        await asyncio.sleep(1.0)
    await queue.close()


async def run(url: str, trials: int, seed_value: int) -> dict[tuple[str, str], list[float]]:
    names = queue_names(trials)
    await seed(url, names)
    received: dict[str, float] = {}

    async def hook(request: Request) -> JSONResponse:
        body = await request.json()
        if body["event"] == "firing":
            received.setdefault(body["queue"], time.time())
        return JSONResponse({"ok": True})

    port = free_port()
    receiver = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    serving = asyncio.create_task(receiver.serve())
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "alerts.toml"
        rules.write_text(
            f'[destination.ops]\nurl = "http://127.0.0.1:{port}/hook"\nformat = "json"\n\n'
            '[[rule]]\nkind = "failed"\nqueues = "failed-*"\ncount = 0\nminutes = 60\n\n'
            '[[rule]]\nkind = "backlog"\nqueues = "backlog-*"\ncount = 1\n'
        )
        app = create_app(Settings(redis_url=url, alerts=str(rules)))
    board = app.state.board
    await board.catalog.names()
    watching = asyncio.create_task(board.alerts.watch(board.watcher))
    await asyncio.sleep(5)  # the watcher's start-up reads; the seeded backlogs do not fire
    rng = random.Random(seed_value)
    delays: dict[tuple[str, str], list[float]] = {key: [] for key in names}
    for situation in SITUATIONS:
        stop = asyncio.Event()
        noisy = asyncio.create_task(noise(url, stop)) if situation == "busy" else None
        for i in range(trials):
            for kind in KINDS:
                name = names[(kind, situation)][i]
                await asyncio.sleep(8.0 if situation == "idle" else rng.uniform(0, 6))
                held = await make_condition(url, kind, name)
                deadline = time.monotonic() + 30
                while name not in received and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                delays[(kind, situation)].append(received.get(name, float("inf")) - held)
        stop.set()
        if noisy is not None:
            await noisy
    watching.cancel()
    await asyncio.gather(watching, return_exceptions=True)
    await board.redis.aclose()
    receiver.should_exit = True
    await serving
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--server", choices=["redis", "valkey"], default="redis")
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    server = RedisServer(args.server).start()
    try:
        delays = asyncio.run(run(server.url, args.trials, args.seed))
    finally:
        server.stop()
    print(f"{server.version}: condition to webhook, {args.trials} trials each (target: <= 10 s)")
    for (kind, situation), values in delays.items():
        ordered = sorted(values)
        within = sum(1 for v in values if v <= 10)
        print(
            f"  {kind:8} {situation:5} min {ordered[0]:.2f} s  median "
            f"{statistics.median(ordered):.2f} s  max {ordered[-1]:.2f} s  "
            f"within 10 s: {within}/{len(values)}"
        )


if __name__ == "__main__":
    t0 = time.monotonic()
    main()
    print(f"({time.monotonic() - t0:.0f} s)")
