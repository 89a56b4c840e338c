"""The drain engine: what an idle drain costs in Redis commands, and jobs/s against Node BullMQ.

    python -m bench.drain                       # 10,000 jobs, every measurement twice
    python -m bench.drain --jobs 2000 --repeat 1
    python -m bench.drain --skip-throughput     # only the idle cost

Part 1 drains five queues that exist but hold no work (empty, then holding only completed and
failed jobs, then seed 004's five queues with its two repeatable jobs made by Node BullMQ 5:
a legacy `repeat: {pattern}` and an `upsertJobScheduler`) and counts the commands Redis EXECUTED
(INFO commandstats delta, the meter's own INFO taken out), next to what Node BullMQ 5's
`queue.getJobCounts()` costs on the same five queues (the seed's probe). Part 2 times a no-op
processor over `--jobs` jobs in one queue: Node BullMQ 5.81.5's Worker (bench/node_worker.mjs),
`DrainEngine.drain` (on an unbounded client as `drainboard drain` runs it, busy polling at
concurrency 1, and without the polling as `--no-busy-poll` runs it; on a client bounded as the
web app's), and the Python `bullmq` Worker, at concurrency 1 and 10, on one Debian
redis-server, flushed between runs, with each client's CPU over the timed span.
It is a benchmark, not a test: it prints a report and exits non-zero only when a run does not
complete every job.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` and `dashboard` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from bullmq import Queue, Worker

from bench.harness import REPO, CommandMeter, RedisServer, command_diff, table
from dashboard.cli import run_async
from dashboard.config import DEFAULT_REDIS_MAX_CONNECTIONS
from dashboard.drain.engine import DrainEngine, DrainOptions
from dashboard.redis_client.connection import connect

QUEUES = ("batch-jobs", "dsar-jobs", "journey-jobs", "retrain-jobs", "seed-jobs")
SEED_004_QUEUES = ("ingestion", "webhook-retry", "analytics-rollup", "billing", "email")
PREFIX = "bull"
IDLE_TARGET = 5
# The seed's probe: getJobCounts over the five queues, 20 client commands per invocation.
SEED_PROBE_CLIENT_COMMANDS = 20
THROUGHPUT_QUEUE = "q"
CONCURRENCIES = (1, 10)
ADD_CHUNK = 1000
NODE_HELPER = REPO / "bench" / "node_worker.mjs"
NODE_BULLMQ = REPO / "tests" / "interop" / "node_modules" / "bullmq5" / "package.json"
NODE_SCHEDULE = REPO / "tests" / "interop" / "schedule.mjs"


def breakdown(diff: dict[str, int]) -> str:
    diff = {k: v for k, v in diff.items() if k != "info"}
    return " ".join(f"{k}:{v}" for k, v in sorted(diff.items(), key=lambda kv: (-kv[1], kv[0])))


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed; Node BullMQ is the reference here.")
    if not NODE_BULLMQ.exists():
        raise SystemExit(f"{NODE_BULLMQ} is missing: run `npm ci` in tests/interop.")
    return node


def node_version() -> str:
    node = subprocess.run([node_binary(), "--version"], capture_output=True, text=True, check=True)
    bullmq = json.loads(NODE_BULLMQ.read_text())["version"]
    return f"Node {node.stdout.strip()}, bullmq {bullmq}"


def run_node(*args: str, timeout: float = 900) -> dict:
    done = subprocess.run(
        [node_binary(), str(NODE_HELPER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise SystemExit(f"node {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def noop(job: object) -> None:
    return None


# --------------------------------------------------------------------------------------------
# Part 1: what an idle drain executes


async def make_empty_queues(url: str) -> None:
    """Five real queues with nothing in them: each had a job that is gone now (meta, id and
    events keys remain, as after BullMQ's removeOnComplete)."""
    for name in QUEUES:
        queue = Queue(name, {"connection": url})
        job = await queue.add("x", {})
        await queue.remove(job.id)
        await queue.close()


async def make_finished_queues(url: str, per_queue: int = 20) -> None:
    """Five queues holding only completed and failed jobs (half each), finished by our drain."""
    for name in QUEUES:
        queue = Queue(name, {"connection": url})
        await queue.addBulk([{"name": "x", "data": {"i": i}} for i in range(per_queue)])
        await queue.close()

    async def half_fail(job: object) -> None:
        if int(job.data["i"]) % 2:  # type: ignore[attr-defined]
            raise RuntimeError("fails on purpose")

    client = connect(url)
    try:
        engine = DrainEngine(client, PREFIX, {q: half_fail for q in QUEUES})
        result = await engine.drain(DrainOptions(queues=QUEUES, max_concurrent_queues=5))
        if result.total_processed != per_queue * len(QUEUES):
            raise SystemExit(f"setup drain processed {result.total_processed}, not {per_queue * 5}")
    finally:
        await client.aclose()


async def make_seed_004_queues(url: str) -> None:
    """Seed 004's five queues: the nightly rollup as Node's legacy `repeat: {pattern}`, the
    monthly credit grant as an `upsertJobScheduler`, a job done in each of the other three."""
    for queue, kind, *spec in (
        ("analytics-rollup", "legacy", "0 2 * * *"),
        ("billing", "pattern", "5 0 1 * *", "UTC"),
    ):
        done = subprocess.run(
            [node_binary(), str(NODE_SCHEDULE), "5", url, queue, "add", kind, *spec],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=NODE_SCHEDULE.parent,
        )
        if done.returncode != 0:
            raise SystemExit(f"schedule.mjs {queue} failed:\n{done.stderr}")
    for name in ("ingestion", "webhook-retry", "email"):
        queue = Queue(name, {"connection": url})
        await queue.add("x", {})
        await queue.close()
    client = connect(url)
    try:
        engine = DrainEngine(client, PREFIX, {q: noop for q in SEED_004_QUEUES})
        await engine.drain(DrainOptions(queues=SEED_004_QUEUES))  # the three jobs
    finally:
        await client.aclose()


async def idle_drains(
    url: str, meter: CommandMeter, queues: tuple[str, ...], tries: int = 3
) -> list[tuple[int, str]]:
    """(executed, breakdown) per drain of the five queues, on a client already connected."""
    client = connect(url)
    out = []
    try:
        await client.ping()  # the connection handshake is not the drain's cost
        engine = DrainEngine(client, PREFIX, {q: noop for q in queues})
        for _ in range(tries):
            before_stats, before = meter.per_command(), meter.start()
            result = await engine.drain(DrainOptions(queues=queues))
            executed = meter.since(before)
            out.append((executed, breakdown(command_diff(before_stats, meter.per_command()))))
            if result.total_processed:
                raise SystemExit(f"an idle drain processed {result.total_processed} jobs")
    finally:
        await client.aclose()
    return out


async def cold_idle_drain(
    url: str, meter: CommandMeter, queues: tuple[str, ...]
) -> tuple[int, str]:
    """A drain on a client that has not connected yet (the CLI's case): handshake included."""
    client = connect(url)
    try:
        engine = DrainEngine(client, PREFIX, {q: noop for q in queues})
        before_stats, before = meter.per_command(), meter.start()
        await engine.drain(DrainOptions(queues=queues))
        executed = meter.since(before)
        return executed, breakdown(command_diff(before_stats, meter.per_command()))
    finally:
        await client.aclose()


def node_get_job_counts(
    url: str, meter: CommandMeter, queues: tuple[str, ...], tries: int = 3
) -> list[tuple[int, str]]:
    """Node BullMQ 5's queue.getJobCounts() for the five queues, metered round by round."""
    process = subprocess.Popen(
        [node_binary(), str(NODE_HELPER), "counts", url, ",".join(queues)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert process.stdin is not None and process.stdout is not None
    out = []
    try:
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("node counts helper did not start")
        for _ in range(tries):
            before_stats, before = meter.per_command(), meter.start()
            process.stdin.write("go\n")
            process.stdin.flush()
            json.loads(process.stdout.readline())
            executed = meter.since(before)
            out.append((executed, breakdown(command_diff(before_stats, meter.per_command()))))
        process.stdin.write("quit\n")
        process.stdin.flush()
    finally:
        process.stdin.close()
        process.wait(30)
    return out


def summarize(runs: list[tuple[int, str]]) -> tuple[str, str]:
    counts = [n for n, _ in runs]
    executed = str(counts[0]) if len(set(counts)) == 1 else "/".join(map(str, counts))
    return executed, runs[0][1]


def split(executed: str, detail: str) -> str:
    """'client + in scripts' for one invocation. Both kinds of caller here send either plain
    commands only (the drain) or EVALSHA only (getJobCounts), so everything that is not an
    EVALSHA was run by a script when there is one."""
    total = int(executed.split("/")[0])
    scripts = dict(item.split(":") for item in detail.split()) if detail else {}
    evalsha = int(scripts.get("evalsha", 0))
    return f"{total} + 0" if not evalsha else f"{evalsha} + {total - evalsha}"


def part_1(server: RedisServer) -> None:
    print("\n== Part 1: idle drain cost, 5 queues: " + " ".join(QUEUES) + " ==", flush=True)
    r = redis.Redis.from_url(server.url)
    meter = CommandMeter(server.url)
    rows = []
    per_queue = 20
    try:
        for label, setup, queues in (
            ("empty (meta/id/events keys only)", make_empty_queues, QUEUES),
            (
                f"only completed + failed ({per_queue // 2} + {per_queue // 2} each)",
                lambda url: make_finished_queues(url, per_queue),
                QUEUES,
            ),
            (
                "seed 004, two repeatable jobs (Node 5: legacy repeat + upsertJobScheduler)",
                make_seed_004_queues,
                SEED_004_QUEUES,
            ),
        ):
            r.flushall()
            asyncio.run(setup(server.url))
            runs = asyncio.run(idle_drains(server.url, meter, queues, tries=4))
            first, first_detail = runs[0]
            if queues is SEED_004_QUEUES:  # the first tick after the set-up's drain did work
                rows.append(
                    [
                        "drain(), seed 004: first tick after a drain that did work",
                        str(first),
                        split(str(first), first_detail),
                        "OVER TARGET" if first > IDLE_TARGET else "ok",
                        first_detail,
                    ]
                )
            executed, detail = summarize(runs[1:])
            over = max(int(n) for n in executed.split("/")) > IDLE_TARGET
            rows.append(
                [
                    f"drain(), {label}",
                    executed,
                    split(executed, detail),
                    "OVER TARGET" if over else "ok",
                    detail,
                ]
            )
            cold, cold_detail = asyncio.run(cold_idle_drain(server.url, meter, queues))
            rows.append(
                [
                    "  same, on a client not yet connected",
                    str(cold),
                    split(str(cold), cold_detail),
                    "",
                    cold_detail,
                ]
            )
            node_executed, node_detail = summarize(node_get_job_counts(server.url, meter, queues))
            rows.append(
                [
                    f"Node getJobCounts() x5, {label}",
                    node_executed,
                    split(node_executed, node_detail),
                    "",
                    node_detail or "-",
                ]
            )
    finally:
        meter.close()
        r.close()
    rows.append(
        [
            "seed's getJobCounts probe, per invocation (its figure)",
            "-",
            f"{SEED_PROBE_CLIENT_COMMANDS} + scripts'",
            "",
            "see the Node getJobCounts() rows for what the scripts run",
        ]
    )
    print(
        table(
            ["invocation", "executed", "client + in scripts", f"<= {IDLE_TARGET}", "by command"],
            rows,
            {1, 2},
        )
    )
    print(
        f"INFO pair baseline: {meter.baseline} command(s), subtracted from every delta. "
        "executed = INFO commandstats delta for one invocation, 3 tries (a/b/c if they differ; "
        "the drain's 3 follow an untimed first one), "
        "commands run inside Lua scripts included (Upstash bills those too); client = sent by "
        "the caller (each EVALSHA is one). The drain rows run on a client that has already "
        "connected (the cron endpoint's case); the 'not yet connected' rows add redis-py's "
        "handshake (the CLI's case). Node rows: BullMQ 5.81.5 queue.getJobCounts() (all states) "
        "for the same 5 queues, after one unmetered round (connect, SCRIPT LOAD).",
        flush=True,
    )


# --------------------------------------------------------------------------------------------
# Part 2: throughput, no-op processor


@dataclass
class Series:
    impl: str
    concurrency: int
    seconds: list[float] = field(default_factory=list)
    commands: list[int] = field(default_factory=list)
    evalsha: list[int] = field(default_factory=list)
    redis_cpu: list[float] = field(default_factory=list)
    script_us: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)

    def rates(self, jobs: int) -> list[float]:
        return [jobs / s for s in self.seconds]


def load_queue(url: str, jobs: int) -> float:
    r = redis.Redis.from_url(url)
    try:
        r.flushall()
        added = run_node("add", url, THROUGHPUT_QUEUE, str(jobs), str(ADD_CHUNK))
        waiting = r.llen(f"{PREFIX}:{THROUGHPUT_QUEUE}:wait")
        if waiting != jobs:
            raise SystemExit(f"addBulk left {waiting} jobs waiting, not {jobs}")
        return added["ms"] / 1000
    finally:
        r.close()


def completed_count(url: str) -> int:
    r = redis.Redis.from_url(url)
    try:
        return int(r.zcard(f"{PREFIX}:{THROUGHPUT_QUEUE}:completed"))
    finally:
        r.close()


def time_node(url: str, jobs: int, concurrency: int) -> tuple[float, float]:
    """Seconds, and the Node process's CPU seconds over them."""
    out = run_node("work", url, THROUGHPUT_QUEUE, str(jobs), str(concurrency))
    return out["ms"] / 1000, out["cpuUs"] / 1e6


def own_cpu() -> float:
    """This process's CPU seconds so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def time_ours(
    url: str, jobs: int, concurrency: int, busy_poll: bool, pool: int | None = None
) -> float:
    """As `drainboard drain` runs it (`busy_poll` as its `--no-busy-poll` leaves it). With
    `pool`, on a client bounded as the web app's (its "Drain now", which never busy-polls):
    there a slot takes a connection from the shared pool for each completion instead of
    keeping one."""
    client = connect(url, max_connections=pool)
    try:
        engine = DrainEngine(client, PREFIX, {THROUGHPUT_QUEUE: noop}, busy_poll=busy_poll)
        options = DrainOptions(
            queues=(THROUGHPUT_QUEUE,), concurrency=concurrency, max_duration_ms=600_000
        )
        started = time.perf_counter()
        result = await engine.drain(options)
        elapsed = time.perf_counter() - started
    finally:
        await client.aclose()
    if result.total_processed != jobs or result.total_failed:
        raise SystemExit(f"drain: {result.as_json()}")
    return elapsed


async def time_python_worker(url: str, jobs: int, concurrency: int) -> float:
    done = asyncio.Event()
    completed = 0
    finished_at = 0.0

    async def process(job: object, token: str) -> None:
        return None

    def on_completed(*_: object) -> None:
        nonlocal completed, finished_at
        completed += 1
        if completed == jobs:
            finished_at = time.perf_counter()
            done.set()

    started = time.perf_counter()
    worker = Worker(THROUGHPUT_QUEUE, process, {"connection": url, "concurrency": concurrency})
    worker.on("completed", on_completed)
    try:
        await asyncio.wait_for(done.wait(), timeout=900)
    finally:
        await worker.close()
    return finished_at - started


def redis_cpu(meter: CommandMeter) -> float:
    """Seconds of CPU the Redis server has used (user + system)."""
    cpu = meter.client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def evalsha_usec(meter: CommandMeter) -> int:
    """Microseconds Redis has spent in EVALSHA calls, the scripts' own commands included."""
    return int(meter.client.info("commandstats").get("cmdstat_evalsha", {}).get("usec", 0))


def measure(server: RedisServer, meter: CommandMeter, impl: str, jobs: int, conc: int) -> tuple:
    load_queue(server.url, jobs)
    gc.collect()
    cpu_before = redis_cpu(meter)
    usec_before = evalsha_usec(meter)
    before_stats, before = meter.per_command(), meter.start()
    own_before = own_cpu()
    if impl == "node":
        seconds, client_cpu = time_node(server.url, jobs, conc)
    else:
        if impl == "ours":  # on the loop `drainboard drain` and `drainboard serve` run on
            seconds = run_async(time_ours(server.url, jobs, conc, busy_poll=True))
        elif impl == "no_poll":
            seconds = run_async(time_ours(server.url, jobs, conc, busy_poll=False))
        elif impl == "pool":
            pool = DEFAULT_REDIS_MAX_CONNECTIONS
            seconds = run_async(time_ours(server.url, jobs, conc, busy_poll=False, pool=pool))
        else:
            seconds = asyncio.run(time_python_worker(server.url, jobs, conc))
        client_cpu = own_cpu() - own_before
    executed = meter.since(before)
    evalsha = command_diff(before_stats, meter.per_command()).get("evalsha", 0)
    server_cpu = redis_cpu(meter) - cpu_before
    script_us = (evalsha_usec(meter) - usec_before) / max(evalsha, 1)
    done = completed_count(server.url)
    if done != jobs:
        raise SystemExit(f"{impl} c{conc}: {done} of {jobs} jobs completed")
    return seconds, executed, evalsha, server_cpu, script_us, client_cpu


IMPLS = {
    "node": "Node BullMQ 5.81.5 Worker",
    "ours": "drainboard drain (CLI)",
    "no_poll": "drainboard drain --no-busy-poll",
    "pool": "drainboard, web app's bounded pool",
    "python": "Python bullmq Worker",
}


def part_2(server: RedisServer, jobs: int, repeat: int) -> None:
    print(
        f"\n== Part 2: throughput, no-op processor, {jobs:,} jobs in one queue, "
        f"{repeat} run(s) each ==",
        flush=True,
    )
    add_seconds = load_queue(server.url, jobs)
    print(
        f"Each run: FLUSHALL, then Node addBulk in chunks of {ADD_CHUNK:,} "
        f"({jobs:,} jobs in {add_seconds:.2f} s, not timed), then the timed run.",
        flush=True,
    )
    series = {(i, c): Series(i, c) for i in IMPLS for c in CONCURRENCIES}
    meter = CommandMeter(server.url)
    try:
        for attempt in range(repeat):
            for impl in IMPLS:  # interleaved, so drift in machine load spreads over all
                for conc in CONCURRENCIES:
                    seconds, executed, evalsha, cpu, script_us, client_cpu = measure(
                        server, meter, impl, jobs, conc
                    )
                    s = series[(impl, conc)]
                    s.seconds.append(seconds)
                    s.commands.append(executed)
                    s.evalsha.append(evalsha)
                    s.redis_cpu.append(cpu)
                    s.script_us.append(script_us)
                    s.client_cpu.append(client_cpu)
                    print(
                        f"  run {attempt + 1}: {IMPLS[impl]:30} c={conc:<2} {seconds:7.2f} s "
                        f"{jobs / seconds:8,.0f} jobs/s  {executed / jobs:5.1f} cmds/job "
                        f"{evalsha / jobs:4.2f} evalsha/job  "
                        f"Redis CPU {cpu / jobs * 1e6:4.0f} us/job, {script_us:4.1f} us/EVALSHA, "
                        f"client CPU {client_cpu / jobs * 1e6:4.0f} us/job "
                        f"(load {_load()})",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        meter.close()
    r = redis.Redis.from_url(server.url)
    r.flushall()
    r.close()

    rows = []
    for (impl, conc), s in series.items():
        rates = s.rates(jobs)
        rows.append(
            [
                IMPLS[impl],
                str(conc),
                " / ".join(f"{x:.2f}" for x in s.seconds),
                f"{max(rates):,.0f}",
                f"{statistics.median(rates):,.0f}",
                f"{statistics.median(s.commands) / jobs:.1f}",
                f"{statistics.median(s.evalsha) / jobs:.2f}",
                f"{statistics.median(s.redis_cpu) / jobs * 1e6:.0f}",
                f"{statistics.median(s.script_us):.1f}",
                f"{statistics.median(s.client_cpu) / jobs * 1e6:.0f}",
            ]
        )
    print(
        table(
            [
                "implementation",
                "conc",
                "seconds per run",
                "best jobs/s",
                "median jobs/s",
                "cmds/job",
                "evalsha/job",
                "Redis CPU us/job",
                "us/EVALSHA",
                "client CPU us/job",
            ],
            rows,
        )
    )
    print("\nours / Node (jobs/s):")
    ratio_rows = []
    for conc in CONCURRENCIES:
        ours, node = series[("ours", conc)].rates(jobs), series[("node", conc)].rates(jobs)
        py = series[("python", conc)].rates(jobs)
        pool = series[("pool", conc)].rates(jobs)
        no_poll = series[("no_poll", conc)].rates(jobs)
        ratio_rows.append(
            [
                f"concurrency {conc}",
                f"{max(ours) / max(node):.2f}",
                f"{statistics.median(ours) / statistics.median(node):.2f}",
                f"{statistics.median(no_poll) / statistics.median(node):.2f}",
                f"{statistics.median(pool) / statistics.median(node):.2f}",
                f"{max(py) / max(node):.2f}",
                f"{statistics.median(py) / statistics.median(node):.2f}",
            ]
        )
    print(
        table(
            [
                "",
                "ours/Node best",
                "ours/Node median",
                "--no-busy-poll/Node median",
                "bounded pool/Node median",
                "Python/Node best",
                "Python/Node median",
            ],
            ratio_rows,
        )
    )
    print(
        "Timed: Node and the Python Worker from constructing the Worker until the last "
        "'completed' event (Node's clock runs inside Node, so its start-up is not counted); "
        "ours, the drain() call (probe, Worker set-up, every job, history write), on the event "
        "loop the CLI and `drainboard serve` run on (uvloop where installed; the Python Worker "
        "on asyncio's own, as its users run it). "
        "cmds/job: executed Redis commands per job, scripts' inner commands included, "
        "the worker's connect and close too; evalsha/job: client round trips to a script; "
        "Redis CPU: the server's user+sys CPU over the run (INFO cpu) per job; us/EVALSHA: "
        "Redis's time in each script call, its commands included (INFO commandstats); "
        "client CPU: the client process's user+sys CPU over the timed span per job (Node's "
        "process.cpuUsage; ours and the Python Worker, getrusage of this process). The CLI "
        "busy-polls at concurrency 1 (dashboard/drain/busy_poll.py): its client CPU is the price.",
        flush=True,
    )


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drain", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per throughput run")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement")
    parser.add_argument("--skip-idle", action="store_true", help="only Part 2")
    parser.add_argument("--skip-throughput", action="store_true", help="only Part 1")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.repeat < 1:
        parser.error("--jobs and --repeat must be at least 1")

    server = RedisServer("redis").start()
    print(
        f"bench/drain.py: {server.version} at {server.url}; Python {platform.python_version()}; "
        f"{node_version()}; {os.cpu_count()} cores; {platform.platform()}; "
        f"load average {_load()}",
        flush=True,
    )
    started = time.perf_counter()
    try:
        if not args.skip_idle:
            part_1(server)
        if not args.skip_throughput:
            part_2(server, args.jobs, args.repeat)
    finally:
        server.stop()
    print(f"\nTotal {time.perf_counter() - started:.0f} s; load average after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
