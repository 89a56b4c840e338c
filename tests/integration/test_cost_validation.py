"""The cost model against reality: idle workers on real Redis 7 servers for 60 s each, and a
cron drain over seed 004's queues whose scheduled jobs keep falling due. The quota view against
reality: every kind of client at once on one Valkey, each kind's figure against what that kind
executed, measured apart.

Executed commands come from INFO commandstats (commands inside scripts included), client
commands from MONITOR (everything not run by a script). The three worker setups run at once,
each on its own server, so the suite pays for one minute, not three.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.config import Settings
from dashboard.drain.engine import DrainEngine, DrainOptions
from dashboard.observe.cost import Assumptions, always_on, cron_drain
from dashboard.observe.measure import measure
from dashboard.redis_client.connection import connect
from dashboard.web.app import create_app
from tests import drain_processors
from tests.helpers import free_port, serving, start_redis, start_valkey, wait_for

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
        wait_for(url)
        queues = [f"q{i}" for i in range(workers)]
        process = start_workers(kind, url, queues, WARM_UP_S + WINDOW_S + 5)
        time.sleep(WARM_UP_S)
        with Meter(url) as meter:
            time.sleep(WINDOW_S)
        process.wait(30)
        minutes = WINDOW_S / 60
        return {"executed": meter.executed / minutes, "client": meter.client / minutes}
    finally:
        server.terminate()
        server.wait(10)


class Meter:
    """Executed (INFO commandstats) and client (MONITOR, no script's, no INFO) commands between
    entering and leaving the block."""

    def __init__(self, url: str) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=None)  # MONITOR waits
        self.stop = threading.Event()
        self.client = 0
        self.executed = 0

    def _stats(self) -> int:
        return sum(v["calls"] for v in self.redis.info("commandstats").values())

    def _watch(self) -> None:
        with self.redis.monitor() as monitor:
            for command in monitor.listen():
                if self.stop.is_set():
                    return
                if command["client_type"] != "lua" and "info" not in command["command"].lower()[:5]:
                    self.client += 1

    def __enter__(self) -> Meter:
        self.before = self._stats()
        self.watcher = threading.Thread(target=self._watch, daemon=True)
        self.watcher.start()
        time.sleep(0.2)  # MONITOR is on before anything is counted
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)  # the last commands reach MONITOR
        self.stop.set()
        self.executed = self._stats() - self.before - 1
        self.redis.close()


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
        # Idle workers block 5 s at a time (drainDelay), and Redis counts a blocking command
        # when it returns: the window must be longer than that (2 s once saw none). The Python
        # worker then drops its blocking connection for about 2 s (5.5-7 s after it starts,
        # then every 7 s). Workers are told apart by their connections at the window's start,
        # which may come before that worker has connected, and at its end: 9 s ends in the
        # middle of its second block.
        result = await measure(client, "bull", ["mail", "sms", "pyq"], 9.0)
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


SEED_QUEUES = ("ingestion", "webhook-retry", "analytics-rollup", "billing", "email")
TICK_S = 0.25
TICKS = 40


async def seed_004_with_a_busy_scheduler(url: str) -> None:
    """Seed 004's nightly and monthly schedulers, never due here, and one every 1.5 s."""
    opts = {"attempts": 2, "removeOnComplete": 7}
    queues = {name: Queue(name, {"connection": url}) for name in SEED_QUEUES}
    try:
        await queues["analytics-rollup"].upsertJobScheduler(
            "daily-rollup", {"pattern": "0 2 * * *"}, "daily-rollup", {}, opts
        )
        await queues["billing"].upsertJobScheduler(
            "monthly-credit-grant", {"pattern": "5 0 1 * *"}, "monthly-credit-grant", {}, opts
        )
        await queues["email"].upsertJobScheduler("digest", {"every": 1500}, "digest", {}, opts)
    finally:
        for queue in queues.values():
            await queue.close()


async def test_cron_drain_with_scheduled_jobs_within_15_percent() -> None:
    """Ticks every 0.25 s for 10 s: the model, given the ticks and the runs that happened,
    against the commands Redis counted."""
    port = free_port()
    server = start_redis(port)
    url = f"redis://127.0.0.1:{port}"
    try:
        wait_for(url)
        await seed_004_with_a_busy_scheduler(url)
        client = connect(url)
        engine = DrainEngine(client, "bull", {q: drain_processors.noop for q in SEED_QUEUES})
        options = DrainOptions(queues=SEED_QUEUES)
        for _ in range(2):  # the first iteration is due at once; then every queue is noted
            await engine.drain(options)
        runs = 0
        with Meter(url) as meter:
            for _ in range(TICKS):
                runs += (await engine.drain(options)).total_processed
                await asyncio.sleep(TICK_S)
        await client.aclose()
    finally:
        server.terminate()
        server.wait(10)
    minutes = TICKS * TICK_S / 60  # the model's rates, per minute, over that many minutes
    a = Assumptions(
        cron_interval_min=TICK_S / 60,
        delayed_jobs=True,
        scheduled_runs_per_day=runs / minutes * 24 * 60,
    )
    model = cron_drain(a) * minutes
    print(
        f"{TICKS} ticks, {runs} runs: measured {meter.client} client, {meter.executed} executed;"
        f" model {model}"
    )
    assert runs >= 3  # scheduled jobs did fall due and run
    for count in ("executed", "client"):
        measured = getattr(meter, count)
        error = abs(getattr(model, count) - measured) / measured
        assert error <= TOLERANCE, (
            f"{count}: model {getattr(model, count):.0f}, measured {measured} ({error:.0%} off)"
        )


QUOTA_WINDOW_S = 120
CRON_EVERY_S = 5
CRON_TOKEN = "validation-cron-token"


def commandstats_calls(client: redis.Redis) -> int:
    return sum(v["calls"] for v in client.info("commandstats").values())


def tot_cmds(client: redis.Redis, name_suffix: str) -> int:
    return sum(int(c["tot-cmds"]) for c in client.client_list() if c["name"].endswith(name_suffix))


class Alone:
    """What clients on a server of their own execute (INFO commandstats), and what the ones
    whose connection names end with `part` execute of it (their connections' tot-cmds): those
    connections stay open, so Valkey's count per connection holds all of theirs."""

    def __init__(self, url: str, part: str | None = None) -> None:
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.part = part

    def __enter__(self) -> Alone:
        self.started = time.monotonic()
        self.part_before = tot_cmds(self.redis, self.part) if self.part else 0
        self.before = commandstats_calls(self.redis)
        return self

    def __exit__(self, *exc: object) -> None:
        # Less the INFO read at the start; the CLIENT LISTs are outside the two INFO.
        self.executed = commandstats_calls(self.redis) - self.before - 1
        self.minutes = (time.monotonic() - self.started) / 60
        self.part_executed = tot_cmds(self.redis, self.part) - self.part_before if self.part else 0
        self.redis.close()


class Monitored:
    """What the connections named `drainboard…` executed between the quota view's two INFO
    commandstats, from MONITOR: every command they sent, and the commands their scripts ran
    (MONITOR shows those as `lua`, right after the script's call). Their addresses are taken
    from CLIENT LIST before MONITOR starts: the dashboard's connections stay open."""

    def __init__(self, url: str) -> None:
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=None)
        self.commands = 0
        self.stop = threading.Event()

    def _watch(self, ours: set[str], ready: threading.Event) -> None:
        infos, last = 0, ""
        # MONITOR's connection stays open until the block is left, after the quota view's
        # last CLIENT LIST: one closing in its window would count as another client's closing.
        with self.redis.monitor() as monitor:
            ready.set()
            for line in monitor.listen():
                if self.stop.is_set():
                    return
                if line["client_type"] != "lua":
                    last = f"{line['client_address']}:{line['client_port']}"
                if last not in ours:
                    continue
                if line["command"].upper().startswith("INFO COMMANDSTATS"):
                    infos += 1
                elif infos == 1:
                    self.commands += 1

    def __enter__(self) -> Monitored:
        named = self.redis.client_list()
        ours = {c["addr"] for c in named if c["name"].startswith("drainboard")}
        ready = threading.Event()
        self.thread = threading.Thread(target=self._watch, args=(ours, ready), daemon=True)
        self.thread.start()
        ready.wait(5)
        time.sleep(0.2)  # MONITOR is on
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()  # seen at the next command anyone sends: the workers' come every second
        self.thread.join(10)
        self.redis.close()


def keep_open(origin: str, stop: threading.Event) -> None:
    """An open dashboard tab: the overview's live-update stream, read until told to stop or
    until the server, shutting down, closes it."""
    on = "&".join(f"on={q}" for q in ("batch", "mail", "pyq"))
    with (
        contextlib.suppress(httpx.RemoteProtocolError),
        httpx.stream("GET", f"{origin}/admin/queues/live?{on}", timeout=None) as stream,
    ):
        for _ in stream.iter_raw():
            if stop.is_set():
                return


def cron(origin: str, stop: threading.Event) -> None:
    """A cron calling the drain endpoint every CRON_EVERY_S."""
    while not stop.wait(CRON_EVERY_S):
        answer = httpx.post(
            f"{origin}/api/v1/cron/drain-queues",
            headers={"x-cron-token": CRON_TOKEN},
            timeout=30,
        )
        answer.raise_for_status()


def test_quota_view_every_client_kind_within_15_percent_at_once() -> None:
    """Node workers, a Node QueueEvents, a Python `bullmq` worker (which reopens its blocking
    connection every few seconds), a cron calling the drain endpoint and an open dashboard tab,
    all at once on one Valkey: each kind's figure in the quota view against what it executed,
    measured apart (the Node clients and the Python worker each on a Valkey of their own, in
    the same window; the dashboard's connections by MONITOR), and the part no client accounts
    for."""
    servers = [start_valkey() for _ in range(3)]
    mix, node_alone, python_alone = (server.connection_url for server in servers)
    life = WARM_UP_S + QUOTA_WINDOW_S + 30
    processes = [
        start_workers("node", url, ["batch", "mail:events"], life) for url in (mix, node_alone)
    ] + [start_workers("python", url, ["pyq"], life) for url in (mix, python_alone)]
    stop = threading.Event()
    settings = Settings(
        redis_url=mix,
        queues=("batch", "mail", "pyq"),
        cron_tokens=(CRON_TOKEN,),
        processors="tests.drain_processors:PROCESSORS",  # the cron drains `mail`
        quota=1_000_000,
    )
    try:
        with serving(create_app(settings)) as origin:
            threads = [
                threading.Thread(target=keep_open, args=(origin, stop), daemon=True),
                threading.Thread(target=cron, args=(origin, stop), daemon=True),
            ]
            for thread in threads:
                thread.start()
            time.sleep(WARM_UP_S)
            with (
                Alone(node_alone, ":qe") as node,
                Alone(python_alone) as python,
                Monitored(mix) as dashboard,
            ):
                answer = httpx.get(
                    f"{origin}/admin/queues/api/quota",
                    params={"seconds": QUOTA_WINDOW_S},
                    timeout=QUOTA_WINDOW_S + 30,
                )
            stop.set()
        for thread in threads:  # the server has closed the tab's stream
            thread.join(10)
    finally:
        for process in processes:
            process.kill()
        for server in servers:
            server.stop()
    assert answer.status_code == 200, answer.text
    report = answer.json()
    minutes = report["seconds"] / 60
    shown: dict[str, float] = {}
    for row in report["clients"]:
        shown[row["kind"]] = shown.get(row["kind"], 0) + (row["executedPerMinute"] or 0)
    truth = {
        "node-worker": (node.executed - node.part_executed) / node.minutes,
        "queue-events": node.part_executed / node.minutes,
        "python-worker": python.executed / python.minutes,
        "drainboard": dashboard.commands / minutes,
    }
    table = [
        (kind, shown.get(kind, 0.0), real, (shown.get(kind, 0.0) - real) / real)
        for kind, real in truth.items()
    ]
    print(f"per client: {report['perClient']}; closed: {report['closedConnectionsOf']}")
    for kind, figure, real, off in table:
        print(f"{kind:14} quota view {figure:7.1f}/min  measured {real:7.1f}/min  {off:+.1%}")
    print(
        f"Redis {report['redisPerMinute']}/min, clients {report['clientsPerMinute']}/min, "
        f"unaccounted {report['unaccountedPerMinute']}/min"
    )
    assert report["perClient"] == "measured"
    assert report["unaccountedPerMinute"] == pytest.approx(
        report["redisPerMinute"] - report["clientsPerMinute"], abs=0.1
    )
    wrong = [row for row in table if abs(row[3]) > TOLERANCE]
    assert not wrong, table
