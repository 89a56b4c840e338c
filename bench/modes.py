"""Idle Redis cost of the three worker modes, measured side by side.

    .venv/bin/python -m bench.modes [--minutes 10]

Five empty queues per setup, each setup on its own Redis 7 server, all at once, for `--minutes`:
`drainboard worker --mode always` with BullMQ's defaults and with tuned settings, the cron
mode (no worker; `drainboard drain` every 5 minutes, the first tick at the start), and
`drainboard worker --mode on-demand`. Executed commands from INFO commandstats, client commands
from MONITOR. Not a test: it prints the table the README quotes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import redis

from bench.harness import REPO, RedisServer
from dashboard.observe.cost import Assumptions, always_on, cron_drain

QUEUES = ["batch-jobs", "dsar-jobs", "journey-jobs", "retrain-jobs", "seed-jobs"]
PROCESSORS = "dashboard.demo:PROCESSORS"
CRON_TICK_S = 300


def prepare(url: str) -> None:
    """Five real, empty queues: each had a job, now done."""
    script = (
        "import asyncio\nfrom bullmq import Queue\n"
        "async def main():\n"
        f"    for name in {QUEUES!r}:\n"
        f"        q = Queue(name, {{'connection': {url!r}}})\n"
        "        job = await q.add('x', {})\n"
        "        await q.remove(job.id)\n"
        "        await q.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO)


def drainboard(*args: str) -> list[str]:
    return [sys.executable, "-m", "dashboard", *args, "--processors", PROCESSORS]


def run_setup(name: str, minutes: float) -> dict[str, float | str]:
    server = RedisServer("redis").start()
    url = server.url
    prepare(url)
    process = None
    if name == "always, defaults":
        process = subprocess.Popen(
            drainboard("worker", "--mode", "always", "--redis-url", url),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
    elif name == "always, tuned":
        process = subprocess.Popen(
            drainboard(
                "worker",
                "--mode",
                "always",
                "--redis-url",
                url,
                "--drain-delay",
                "10",
                "--stalled-interval-ms",
                "300000",
            ),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
    elif name == "on-demand":
        process = subprocess.Popen(
            drainboard("worker", "--mode", "on-demand", "--redis-url", url),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
    time.sleep(10)  # start-up (connections, script loads, the on-demand start-up check) is not idle
    client = redis.Redis.from_url(url, socket_timeout=None)
    counted = [0]
    stop = threading.Event()

    def monitor() -> None:
        with client.monitor() as stream:
            for command in stream.listen():
                if stop.is_set():
                    return
                if command["client_type"] != "lua" and not command["command"].startswith("INFO"):
                    counted[0] += 1

    def total() -> int:
        return sum(v["calls"] for v in client.info("commandstats").values())

    threading.Thread(target=monitor, daemon=True).start()
    time.sleep(1)  # the MONITOR connection's own handshake is not the setup's
    before = total()
    deadline = time.monotonic() + minutes * 60
    next_tick = time.monotonic()
    while time.monotonic() < deadline:
        if name.startswith("cron") and time.monotonic() >= next_tick:
            subprocess.run(
                drainboard("drain", "--redis-url", url),
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                check=False,
            )
            next_tick += CRON_TICK_S
        time.sleep(0.5)
    stop.set()
    executed = total() - before - 1
    if process is not None:
        process.terminate()
        process.wait(30)
    client.close()
    server.stop()
    return {"setup": name, "executed": executed / minutes, "client": counted[0] / minutes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    setups = ["always, defaults", "always, tuned", "cron, 5-min tick", "on-demand"]
    with ThreadPoolExecutor(len(setups)) as pool:
        rows = list(pool.map(lambda s: run_setup(s, args.minutes), setups))
    models = {
        "always, defaults": always_on(Assumptions(worker="drainboard")).executed,
        "always, tuned": always_on(
            Assumptions(worker="drainboard", drain_delay_s=10, stalled_interval_ms=300_000)
        ).executed,
        "cron, 5-min tick": cron_drain(Assumptions(cron_interval_min=5)).executed,
        "on-demand": 0.0,
    }
    print(
        f"bench/modes.py: 5 idle queues, {args.minutes:g} minutes per setup, Redis 7, "
        "Python bullmq workers run by `drainboard worker`"
    )
    print(f"{'mode':20} {'executed/min':>13} {'client/min':>11} {'executed/month':>15}  model/min")
    for row in rows:
        model = models[str(row["setup"])]
        print(
            f"{row['setup']:20} {row['executed']:13.1f} {row['client']:11.1f} "
            f"{float(row['executed']) * 43_200:15,.0f}  {'-' if model is None else f'{model:.1f}'}"
        )
    print(
        "(a cron tick here runs `drainboard drain --queues …` as a new process, whose connection"
        " handshake adds a HELLO; through the HTTP endpoint a tick is the model's 2 commands)"
    )


if __name__ == "__main__":
    main()
