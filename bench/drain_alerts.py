"""What alert rules add to one drain tick (`drainboard drain`, the CLI, as a cron runs it).

    .venv/bin/python -m bench.drain_alerts [--server redis|valkey]

A fresh server with 5 empty queues (q0-q4). Each tick is the CLI in a subprocess; the executed
commands it caused are read from INFO commandstats (the meter's own INFO taken out), beside the
same tick without rules, in the same run: first every queue with a processor (the idle tick),
then q1 with a job waiting and no processor for it (the tick reads it for the rules that can
judge it). The rules are bench/alerts.py's 10 (every kind, a `redis` rule with `percent`). The
tick's own connection handshake and cluster check are in both columns. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bullmq import Queue

from bench.alerts import RULES
from bench.harness import CommandMeter, RedisServer, command_diff

ROOT = Path(__file__).resolve().parents[1]
QUEUES = [f"q{i}" for i in range(5)]


async def noop(job: Any) -> None:
    return None


EVERY_QUEUE = dict.fromkeys(QUEUES, noop)
BUT_Q1 = {queue: noop for queue in QUEUES if queue != "q1"}


def tick(url: str, processors: str, alerts: str | None) -> None:
    command = [sys.executable, "-m", "dashboard", "drain", "--redis-url", url]
    command += ["--processors", f"bench.drain_alerts:{processors}", "--queues", ",".join(QUEUES)]
    if alerts:
        command += ["--alerts", alerts]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr)


def measured(
    meter: CommandMeter, url: str, processors: str, alerts: str | None
) -> tuple[int, dict[str, int]]:
    """The second tick's executed commands (the first writes the probe's notes), and per
    command (the meter's own INFOs included: the same in both columns)."""
    tick(url, processors, alerts)
    before, start = meter.per_command(), meter.start()
    tick(url, processors, alerts)
    return meter.since(start), command_diff(before, meter.per_command())


async def make(url: str) -> None:
    for name in QUEUES:
        queue = Queue(name, {"connection": url})
        await queue.add("seed", {})
        await queue.obliterate({"force": True})  # the queue exists by name only: --queues
        await queue.close()


async def wait_on_q1(url: str) -> None:
    queue = Queue("q1", {"connection": url})
    await queue.add("report", {})
    await queue.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["redis", "valkey"], default="redis")
    args = parser.parse_args()
    server = RedisServer(args.server).start()
    rows = []
    try:
        asyncio.run(make(server.url))
        meter = CommandMeter(server.url)
        with tempfile.TemporaryDirectory() as tmp:
            rules = Path(tmp) / "alerts.toml"
            rules.write_text(RULES)
            for label, processors in [
                ("5 empty queues, each with a processor", "EVERY_QUEUE"),
                ("q1: a job waiting, no processor", "BUT_Q1"),
            ]:
                if processors == "BUT_Q1":
                    asyncio.run(wait_on_q1(server.url))
                alone, alone_per = measured(meter, server.url, processors, None)
                ruled, ruled_per = measured(meter, server.url, processors, str(rules))
                added = command_diff(alone_per, ruled_per)
                rows.append(f"{label}: {alone} without rules, {ruled} with: rules add {added}")
        meter.close()
    finally:
        server.stop()
    print(f"{server.version}: executed commands of one `drainboard drain` tick (its connection")
    print("handshake and cluster check included), without and with bench/alerts.py's 10 rules")
    for row in rows:
        print(f"  {row}")


if __name__ == "__main__":
    main()
