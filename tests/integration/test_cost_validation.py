"""The cost model against reality: idle workers on real Redis 7 servers for 60 s each.

Executed commands come from INFO commandstats (commands inside scripts included), client
commands from MONITOR (everything not run by a script). The three setups run at once, each on
its own server, so the suite pays for one minute, not three.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from dashboard.cost import Assumptions, always_on
from dashboard.measure import measure
from tests.conftest import _wait_for, free_port, start_redis

ROOT = Path(__file__).resolve().parents[2]
WINDOW_S = 90
WARM_UP_S = 8
TOLERANCE = 0.15


def start_workers(kind: str, url: str, queues: list[str], seconds: float) -> subprocess.Popen:
    if kind == "node":
        command = ["node", "idle.mjs", "5", url, str(seconds), *queues]
        cwd = ROOT / "tests" / "interop"
    else:
        command = [sys.executable, "-m", "tests.idle_python_worker", url, queues[0], str(seconds)]
        cwd = ROOT
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def observe(kind: str, workers: int) -> dict[str, float]:
    """Start a server and `workers` idle workers; count executed and client commands a minute."""
    port = free_port()
    server = start_redis(port)
    url = f"redis://127.0.0.1:{port}"
    try:
        _wait_for(url)
        queues = [f"q{i}" for i in range(workers)]
        process = start_workers(kind, url, queues, WARM_UP_S + WINDOW_S + 5)
        time.sleep(WARM_UP_S)
        client = redis.Redis.from_url(url, socket_timeout=None)  # MONITOR waits for commands
        monitored: list[int] = [0]
        stop = threading.Event()

        def count_client_commands() -> None:
            with client.monitor() as monitor:
                for command in monitor.listen():
                    if stop.is_set():
                        return
                    if (
                        command["client_type"] != "lua"
                        and "info" not in command["command"].lower()[:5]
                    ):
                        monitored[0] += 1

        stats = lambda: sum(v["calls"] for v in client.info("commandstats").values())  # noqa: E731
        before = stats()
        watcher = threading.Thread(target=count_client_commands, daemon=True)
        watcher.start()
        time.sleep(WINDOW_S)
        stop.set()
        executed = stats() - before - 1
        client_commands = monitored[0]
        process.wait(30)
        client.close()
        minutes = WINDOW_S / 60
        return {"executed": executed / minutes, "client": client_commands / minutes}
    finally:
        server.terminate()
        server.wait(10)


SETUPS = [("node", 1), ("node", 5), ("python", 1)]


@pytest.fixture(scope="module")
def observed() -> dict[tuple[str, int], dict[str, float]]:
    with ThreadPoolExecutor(len(SETUPS)) as pool:
        results = pool.map(lambda setup: observe(*setup), SETUPS)
        return dict(zip(SETUPS, results, strict=True))


@pytest.mark.parametrize("setup", SETUPS, ids=[f"{k}-{n}" for k, n in SETUPS])
def test_model_within_15_percent_of_measured(observed, setup) -> None:
    kind, workers = setup
    measured = observed[setup]
    model = always_on(Assumptions(queues=workers, worker=kind))
    print(f"{kind} x{workers}: measured {measured}, model {model}")
    for count in ("executed", "client"):
        error = abs(getattr(model, count) - measured[count]) / measured[count]
        assert error <= TOLERANCE, (
            f"{kind} x{workers} {count}: model {getattr(model, count):.1f}/min, "
            f"measured {measured[count]:.1f}/min ({error:.0%} off)"
        )


async def test_workers_and_queue_events_are_found_per_queue(redis7_url: str) -> None:
    redis.Redis.from_url(redis7_url).flushall()
    node = start_workers("node", redis7_url, ["mail:events", "sms"], 20)
    python = start_workers("python", redis7_url, ["pyq"], 20)
    try:
        client = aioredis.Redis.from_url(redis7_url, decode_responses=True)
        result = await measure(client, "bull", ["mail", "sms", "pyq"], 0.5)
        await client.aclose()
        found = {
            (row["queue"], row["kind"], row["runtime"]) for row in result.spenders(Assumptions())
        }
        assert found == {
            ("mail", "worker", "node"),
            ("mail", "queue-events", "node"),
            ("sms", "worker", "node"),
            ("pyq", "worker", "python"),
        }
        assert not result.refused and result.total_per_minute > 0
    finally:
        node.kill()
        python.kill()
