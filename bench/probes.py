"""The hardening probes of issue 11, re-runnable: loopback only, bounded, one report each.

    .venv/bin/python -m bench.probes [--only sigkill,double,restart,load] [--load-seconds 60]

- sigkill: 2,000 jobs; `drainboard drain` is SIGKILLed 20 times mid-drain, then drains run
  until the queue is empty. Lost = jobs that never completed.
- double: two `drainboard drain` processes at once over 5,000 jobs; every handler call is
  counted per job id in Redis. Twice = jobs whose handler ran more than once.
- restart: the dashboard serving, Redis stopped and started again on the same port; seconds from
  Redis accepting connections until `GET api/queues` answers 200 again.
- load: 100 concurrent keep-alive clients for 60 s on the overview API, a queue page and a job
  page; requests/s, p50/p99, errors, the server's RSS, and its Redis connections.

Not a test: it prints figures. Needs Debian's redis-server (make test installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
import redis
from bullmq import Queue

from bench.harness import REPO, DashboardServer, free_port, percentile, table
from dashboard import demo

SEEN_KEY = "probe::seen"  # outside BullMQ's key layout: the probes' own tally


# The handlers the probed drains run (`--processors bench.probes:PROCESSORS`).
async def tally(job: Any) -> str:
    """Counts each call per job id, then works for a moment, so a kill lands mid-job."""
    client = _tally_client()
    await client.hincrby(SEEN_KEY, job.id, 1)
    await asyncio.sleep(float(job.data.get("ms", 2)) / 1000)
    return "ok"


_client: Any = None


def _tally_client() -> Any:
    global _client
    if _client is None:
        import redis.asyncio as aioredis

        _client = aioredis.Redis.from_url(os.environ["PROBE_REDIS_URL"])
    return _client


PROCESSORS = {"probe": tally}


class OwnRedis:
    """redis-server on a fixed free port, restartable on that port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.workdir = tempfile.mkdtemp(prefix="drainboard-probe-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server).")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def add_jobs(url: str, count: int, ms: int) -> None:
    async def add() -> None:
        queue = Queue("probe", {"connection": url})
        for start in range(0, count, 1000):
            size = min(1000, count - start)
            await queue.addBulk([{"name": "p", "data": {"ms": ms}} for _ in range(size)])
        await queue.close()

    asyncio.run(add())


def counts(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    try:
        return {
            "wait": client.llen("bull:probe:wait"),
            "active": client.llen("bull:probe:active"),
            "completed": client.zcard("bull:probe:completed"),
            "failed": client.zcard("bull:probe:failed"),
        }
    finally:
        client.close()


def drain_command(url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dashboard",
        "drain",
        "--redis-url",
        url,
        "--processors",
        "bench.probes:PROCESSORS",
        "--queue",
        "probe",
        *extra,
    ]


def drain_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRAINBOARD_", "REDIS_URL"))}
    env["PYTHONPATH"] = str(REPO)
    env["PROBE_REDIS_URL"] = url
    return env


def probe_sigkill(jobs: int = 2000, kills: int = 20) -> list[str]:
    server = OwnRedis()
    server.start()
    try:
        add_jobs(server.url, jobs, ms=5)
        rng = random.Random(11)
        killed_active = 0
        for _ in range(kills):
            drain = subprocess.Popen(
                drain_command(server.url, "--lock-duration-ms", "500", "--concurrency", "4"),
                cwd=REPO,
                env=drain_env(server.url),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 30
            while counts(server.url)["active"] == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # until the drain is taking jobs
            time.sleep(rng.uniform(0.02, 0.3))
            drain.send_signal(signal.SIGKILL)
            drain.wait(10)
            killed_active += counts(server.url)["active"]
        after_kills = counts(server.url)
        time.sleep(0.6)  # the killed drains' locks lapse
        rounds = 0
        while counts(server.url)["completed"] < jobs and rounds < 20:
            subprocess.run(
                drain_command(server.url),
                cwd=REPO,
                env=drain_env(server.url),
                stdout=subprocess.DEVNULL,
                check=False,
            )
            rounds += 1
        final = counts(server.url)
        lost = jobs - final["completed"]
        return [
            f"sigkill: {jobs:,} jobs, {kills} SIGKILLs mid-drain ({killed_active} jobs left "
            f"active by the kills in all; after the kills: {after_kills}); then {rounds} "
            f"drain(s) to finish: {final}. Lost: {lost}."
        ]
    finally:
        server.close()


def probe_double(jobs: int = 5000) -> list[str]:
    server = OwnRedis()
    server.start()
    try:
        add_jobs(server.url, jobs, ms=0)
        started = time.perf_counter()
        drains = [
            subprocess.Popen(
                drain_command(server.url, "--concurrency", "8"),
                cwd=REPO,
                env=drain_env(server.url),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        outputs = [d.communicate(timeout=300)[0].decode() for d in drains]
        seconds = time.perf_counter() - started
        client = redis.Redis.from_url(server.url)
        calls = [int(v) for v in client.hvals(SEEN_KEY)]
        client.close()
        twice = sum(1 for n in calls if n > 1)
        per_drain = [_processed(out) for out in outputs]
        return [
            f"double: two drains at once on {jobs:,} jobs, {seconds:.1f} s; processed by each: "
            f"{per_drain}; jobs run: {len(calls):,}; processed twice: {twice}; "
            f"final counts {counts(server.url)}."
        ]
    finally:
        server.close()


def _processed(output: str) -> int | str:
    import json

    try:
        return json.loads(output.strip().splitlines()[-1])["totalProcessed"]
    except (ValueError, IndexError, KeyError):
        return "no JSON"


def probe_restart() -> list[str]:
    server = OwnRedis()
    server.start()
    add_jobs(server.url, 10, ms=0)  # a queue to read: an empty catalog needs no Redis at all
    dashboard = DashboardServer(server.url).start()
    try:
        api = f"{dashboard.base_url}/admin/queues/api/queues"
        with httpx.Client(timeout=5) as http:
            assert http.get(api).status_code == 200
            server.stop()
            down = http.get(api)
            server.start()
            back = time.perf_counter()
            while http.get(api).status_code != 200:
                time.sleep(0.005)
            recovered = time.perf_counter() - back
        return [
            f"restart: while Redis was down the API answered {down.status_code} "
            f"({down.json().get('error')!r}); after Redis came back, {recovered:.3f} s to the "
            f"first 200."
        ]
    finally:
        dashboard.stop()
        server.close()


def probe_load(seconds: float, clients: int = 100) -> list[str]:
    server = OwnRedis()
    server.start()
    asyncio.run(demo.fill(server.url))
    dashboard = DashboardServer(server.url).start()
    pid = dashboard._process.pid  # type: ignore[union-attr]
    try:
        base = f"{dashboard.base_url}/admin/queues"
        with httpx.Client() as http:
            queue = http.get(f"{base}/api/queues").json()["queues"][0]["name"]
            page = http.get(f"{base}/api/queues/{queue}/jobs?status=completed").json()
            job_id = page["jobs"][0]["id"] if page["jobs"] else "1"
        paths = [
            f"{base}/api/queues",
            f"{base}/queue/{queue}",
            f"{base}/queue/{queue}/jobs/{job_id}",
        ]
        latencies, statuses, peak_clients = asyncio.run(_load(paths, seconds, clients, server.url))
        rss, hwm = _memory(pid)
        latencies.sort()
        errors = sum(1 for s in statuses if s != 200)
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        rows = [
            [
                f"{clients}",
                f"{seconds:.0f} s",
                f"{len(latencies) / seconds:,.0f}",
                f"{p50 * 1000:.1f} ms",
                f"{p99 * 1000:.1f} ms",
                f"{errors}",
                f"{rss / 1024:.0f} MB (peak {hwm / 1024:.0f} MB)",
                f"{peak_clients}",
            ]
        ]
        headers = [
            "clients",
            "time",
            "req/s",
            "p50",
            "p99",
            "errors",
            "server RSS",
            "Redis connections (peak)",
        ]
        return [f"load: {len(latencies):,} requests", table(headers, rows, right={2, 3, 4, 5})]
    finally:
        dashboard.stop()
        server.close()


async def _load(
    paths: list[str], seconds: float, clients: int, redis_url: str
) -> tuple[list[float], list[int], int]:
    latencies: list[float] = []
    statuses: list[int] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(n: int, http: httpx.AsyncClient) -> None:
        i = n
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            try:
                answer = await http.get(path)
                statuses.append(answer.status_code)
            except httpx.HTTPError:
                statuses.append(0)
            latencies.append(time.perf_counter() - started)

    async def watch_connections() -> int:
        peak = 0
        meter = redis.asyncio.Redis.from_url(redis_url)
        while time.perf_counter() < deadline:
            peak = max(peak, (await meter.info("clients"))["connected_clients"] - 1)
            await asyncio.sleep(0.5)
        await meter.aclose()
        return peak

    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        watcher = asyncio.ensure_future(watch_connections())
        await asyncio.gather(*(client(n, http) for n in range(clients)))
        peak = await watcher
    return latencies, statuses, peak


def _memory(pid: int) -> tuple[int, int]:
    """VmRSS and VmHWM (peak) of a process, in KB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


PROBES = ("sigkill", "double", "restart", "load")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PROBES), help="comma-separated probes")
    parser.add_argument("--load-seconds", type=float, default=60)
    args = parser.parse_args()
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    for name in chosen:
        if name not in PROBES:
            raise SystemExit(f"unknown probe {name!r}; choose from {', '.join(PROBES)}")
    for name in chosen:
        started = time.perf_counter()
        if name == "load":
            lines = probe_load(args.load_seconds)
        else:
            lines = {"sigkill": probe_sigkill, "double": probe_double, "restart": probe_restart}[
                name
            ]()
        print("\n".join(lines), f"({time.perf_counter() - started:.0f} s)", sep="\n", flush=True)


if __name__ == "__main__":
    main()
