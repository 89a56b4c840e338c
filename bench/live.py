"""What a dashboard left open costs, and how fast it shows changes.

    .venv/bin/python -m bench.live [--seconds 60] [--server redis|valkey]

Five demo queues, idle, on a fresh server; `drainboard serve` in a child process; Debian's
Chromium through Playwright. Executed Redis commands (INFO commandstats) are measured over
`--seconds` with no tab, with one visible tab on the overview, and with that tab hidden. Then,
with drainboard stopped, the same for Bull Board (bench/bullboard/, its overview page, same
queues, same browser) unless --no-bull-board. Last, with drainboard back, a Node BullMQ worker
completes jobs while the tab is open, and the time from Redis's count changing to the page
showing it is measured.

Then the traffic case (--traffic-seconds, 0 to skip): a Node BullMQ 5 producer and worker
(bench/node_worker.mjs traffic) add and complete 10 jobs/s on one queue, and one Chromium tab is
open on that queue's page (completed jobs, newest first), then on the overview. Under traffic
INFO commandstats cannot tell the dashboard's commands from the worker's, so they are counted
from MONITOR, per connection of the measured process (bench/monitor.py), for drainboard and
then for Bull Board in the same run; and the time from Redis's completed count reaching a value
to the open queue page showing it. Then (--busy-queues, a comma-separated list of counts, 0 to
skip), one tab on the overview while that many queues each add and complete 30 jobs/s, ours then
Bull Board's: the demo queues first (never the paused one), then new `busy-N` queues. Last
(--quiet-seconds, 0 to skip), a quiet queue that gets a job every 7 s, added and completed by
Node, with one tab on its page: what a dashboard on occasional traffic costs. Not a test: it
prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import subprocess
import threading
import time
from pathlib import Path

import redis
from playwright.sync_api import Browser, Page, sync_playwright

from bench import bullboard
from bench.harness import CommandMeter, DashboardServer, RedisServer, Traffic, command_diff
from bench.monitor import ProcessCommands
from dashboard import demo

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BULL_BOARD_PER_MINUTE = 1079  # DESIGN.md: one Bull Board tab on 5 idle queues (when not run)
COMPLETED = 'article.queue-card[data-queue="seed-jobs"] .count[data-state="completed"] dd'
TRAFFIC_QUEUE = "seed-jobs"
TRAFFIC_RATE = 10  # jobs a second, added and completed
COMPLETED_PILL = 'nav.tabs a[data-state="completed"] .pill'
TRAFFIC_TARGET = 20  # issue 23: commands a minute for one tab on a queue page under traffic
BUSY_RATE = 30  # jobs a second on each busy queue of the overview case
BUSY_TARGET = 40  # issue 23: the overview with 3 queues each taking 30 jobs/s
QUIET_EVERY_S = 7.0  # the quiet case: one job this often


def measure(meter: CommandMeter, seconds: float) -> tuple[int, dict[str, int]]:
    before, start = meter.per_command(), meter.start()
    time.sleep(seconds)
    spent = meter.since(start)
    return spent, command_diff(before, meter.per_command())


def set_visibility(page: Page, state: str) -> None:
    """What the browser does when the tab goes to the background, or comes back: the event
    bubbles (as the spec has it), so listeners on window hear it too, as Bull Board's do."""
    page.evaluate(
        """(state) => {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            const hidden = state === "hidden";
            Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
            document.dispatchEvent(new Event("visibilitychange", {bubbles: true}));
        }""",
        state,
    )


def update_latency(page: Page, url: str) -> float:
    """Seconds between Redis counting a newly completed job and the open page showing it."""
    client = redis.Redis.from_url(url)
    shown = page.inner_text(COMPLETED)
    stored = client.zcard("bull:seed-jobs:completed")
    worker = subprocess.Popen(
        ["node", "work.mjs", "5", url, "seed-jobs", "complete", "3"],
        cwd=REPO / "tests" / "interop",
        stdout=subprocess.DEVNULL,
    )
    while client.zcard("bull:seed-jobs:completed") == stored:
        time.sleep(0.005)
    changed_at = time.monotonic()
    deadline = changed_at + 15
    while page.inner_text(COMPLETED) == shown and time.monotonic() < deadline:
        time.sleep(0.02)
    latency = time.monotonic() - changed_at
    worker.wait(30)
    return latency


def measure_bull_board(
    browser: Browser, meter: CommandMeter, url: str, seconds: float
) -> list[tuple[str, int, dict[str, int]]]:
    """One Bull Board tab on its overview, visible then hidden, `seconds` each."""
    board = bullboard.BullBoardServer(url, list(demo.DEMO_QUEUES)).start()
    try:
        page = browser.new_page()
        page.goto(f"{board.base_url}{board.base_path}/")
        page.wait_for_selector(f"text={demo.DEMO_QUEUES[0]}")
        time.sleep(3)  # as for ours: the page load is not idle cost
        visible, detail = measure(meter, seconds)
        rows = [("Bull Board: one visible tab, overview", visible, detail)]
        set_visibility(page, "hidden")
        time.sleep(1)
        hidden, detail = measure(meter, seconds)
        rows.append(("Bull Board: the same tab, hidden", hidden, detail))
        page.close()
    finally:
        board.stop()
    return rows


def measure_tabs(
    browser: Browser,
    counter: ProcessCommands,
    pid: int,
    tabs: list[tuple[str, str]],
    seconds: float,
) -> list[tuple[str, int, dict[str, int]]]:
    """One tab at a time on each page; the executed commands of process `pid` while it is open."""
    rows = []
    for label, url in tabs:
        page = browser.new_page()
        page.goto(url)
        time.sleep(3)  # the page load is not what an open tab costs
        spent, detail = counter.measure(pid, seconds)
        rows.append((label, spent, detail))
        page.close()
    return rows


def traffic_latency(page: Page, url: str, seconds: float) -> list[float]:
    """For each rise of Redis's completed count (to n, at time t): the seconds from t until the
    open queue page shows n or more. Both are polled every 20 ms for `seconds`."""
    client = redis.Redis.from_url(url)
    key = f"bull:{TRAFFIC_QUEUE}:completed"
    stored: list[tuple[float, int]] = []
    shown: list[tuple[float, int]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        stored.append((time.monotonic(), client.zcard(key)))
        shown.append((time.monotonic(), int(page.inner_text(COMPLETED_PILL).replace(",", ""))))
        time.sleep(0.02)
    client.close()
    latencies = []
    for (_, before), (at, count) in itertools.pairwise(stored):
        if count <= before:
            continue
        seen = next((t for t, n in shown if t >= at and n >= count), None)
        if seen is not None:  # rises the page had not caught up with at the end are left out
            latencies.append(seen - at)
    return latencies


def traffic_case(
    browser: Browser, url: str, seconds: float, with_bull_board: bool
) -> tuple[list[tuple[str, int, dict[str, int]]], list[float]]:
    traffic = Traffic(url, [TRAFFIC_QUEUE], TRAFFIC_RATE)
    counter = ProcessCommands(url).start()
    rows: list[tuple[str, int, dict[str, int]]] = []
    try:
        time.sleep(3)  # the queue is busy before anything is measured
        dashboard = DashboardServer(url).start()
        try:
            base = f"{dashboard.base_url}/admin/queues"
            queue_page = f"{base}/queue/{TRAFFIC_QUEUE}?status=completed"
            tabs = [
                ("drainboard: tab on the busy queue's page", queue_page),
                ("drainboard: tab on the overview", f"{base}/"),
            ]
            rows += measure_tabs(browser, counter, dashboard.pid, tabs, seconds)
            page = browser.new_page()
            page.goto(tabs[0][1])
            time.sleep(3)
            latencies = traffic_latency(page, url, 30)
            page.close()
        finally:
            dashboard.stop()
        if with_bull_board:
            board = bullboard.BullBoardServer(url, list(demo.DEMO_QUEUES)).start()
            try:
                base = f"{board.base_url}{board.base_path}"
                tabs = [
                    ("Bull Board: tab on the busy queue's page", f"{base}/queue/{TRAFFIC_QUEUE}"),
                    ("Bull Board: tab on the overview", f"{base}/"),
                ]
                rows += measure_tabs(browser, counter, board.pid, tabs, seconds)
            finally:
                board.stop()
    finally:
        counter.stop()
        traffic.stop()
    return rows, latencies


def busy_overview_case(
    browser: Browser, url: str, seconds: float, busy: int, with_bull_board: bool
) -> list[tuple[str, int, dict[str, int]]]:
    """One tab on the overview while `busy` queues each add and complete BUSY_RATE jobs/s: the
    demo queues (never the paused one), then new ones; ours, then Bull Board's (on the same
    queues), counted from MONITOR. The servers start after the traffic: they find every queue."""
    queues = [q for q in demo.DEMO_QUEUES if q != demo.PAUSED_QUEUE][:busy]
    queues += [f"busy-{n}" for n in range(len(queues) + 1, busy + 1)]
    shown = list(dict.fromkeys([*demo.DEMO_QUEUES, *queues]))
    traffic = [Traffic(url, [queue], BUSY_RATE) for queue in queues]
    counter = ProcessCommands(url).start()
    rows: list[tuple[str, int, dict[str, int]]] = []
    try:
        time.sleep(3)
        dashboard = DashboardServer(url).start()
        try:
            tab = ("drainboard: tab on the overview", f"{dashboard.base_url}/admin/queues/")
            rows += measure_tabs(browser, counter, dashboard.pid, [tab], seconds)
        finally:
            dashboard.stop()
        if with_bull_board:
            board = bullboard.BullBoardServer(url, shown).start()
            try:
                tab = ("Bull Board: tab on the overview", f"{board.base_url}{board.base_path}/")
                rows += measure_tabs(browser, counter, board.pid, [tab], seconds)
            finally:
                board.stop()
    finally:
        counter.stop()
        for each in traffic:
            each.stop()
    return rows


def quiet_case(browser: Browser, url: str, seconds: float) -> list[tuple[str, int, dict[str, int]]]:
    """One tab on a queue's page while Node adds a job to it every QUIET_EVERY_S and completes
    it; the dashboard's commands, from MONITOR."""
    traffic = Traffic(url, [TRAFFIC_QUEUE], 1 / QUIET_EVERY_S)
    counter = ProcessCommands(url).start()
    try:
        dashboard = DashboardServer(url).start()
        try:
            base = f"{dashboard.base_url}/admin/queues"
            tab = (
                "drainboard: tab on the quiet queue's page",
                f"{base}/queue/{TRAFFIC_QUEUE}?status=completed",
            )
            return measure_tabs(browser, counter, dashboard.pid, [tab], seconds)
        finally:
            dashboard.stop()
    finally:
        counter.stop()
        traffic.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--server", choices=("redis", "valkey"), default="redis")
    parser.add_argument("--traffic-seconds", type=float, default=60)
    parser.add_argument(
        "--busy-queues",
        default="3",
        help=f"overview cases: how many queues at {BUSY_RATE} jobs/s, comma-separated (0: none)",
    )
    parser.add_argument("--quiet-seconds", type=float, default=60)
    parser.add_argument(
        "--only-quiet", action="store_true", help="the quiet-queue case alone (to compare builds)"
    )
    bullboard.add_flag(parser)
    args = parser.parse_args()
    busy_counts = [int(n) for n in args.busy_queues.split(",") if int(n)]
    if args.only_quiet:
        only_quiet(args.server, args.quiet_seconds or 60)
        return
    skip_bull_board = bullboard.why_not(args.bull_board)
    bb_version = bullboard.versions() if skip_bull_board is None else ""
    server = RedisServer(args.server).start()
    filler = threading.Thread(target=lambda: asyncio.run(demo.fill(server.url)))
    filler.start()
    filler.join()
    dashboard = DashboardServer(server.url).start()
    meter = CommandMeter(server.url)
    rows = []
    bb_rows: list[tuple[str, int, dict[str, int]]] = []
    try:
        no_tab, _ = measure(meter, args.seconds)
        rows.append(("no tab open", no_tab, {}))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{dashboard.base_url}/admin/queues/")
            time.sleep(3)  # the page load and the watcher's start are not idle cost
            visible, detail = measure(meter, args.seconds)
            rows.append(("one visible tab on the overview", visible, detail))
            footer = page.inner_text("footer").splitlines()[0]
            set_visibility(page, "hidden")
            time.sleep(1)
            hidden, detail = measure(meter, args.seconds)
            rows.append(("the same tab, hidden", hidden, detail))
            if skip_bull_board is None:
                # Bull Board alone, as ours was alone: our tab closed, our server stopped.
                page.close()
                dashboard.stop()
                bb_rows = measure_bull_board(browser, meter, server.url, args.seconds)
                dashboard = DashboardServer(server.url).start()
                page = browser.new_page()
                page.goto(f"{dashboard.base_url}/admin/queues/")
                time.sleep(3)
            else:
                set_visibility(page, "visible")
                time.sleep(1)
            latencies = [update_latency(page, server.url) for _ in range(3)]
            page.close()
            dashboard.stop()
            traffic_rows: list[tuple[str, int, dict[str, int]]] = []
            busy_rows: dict[int, list[tuple[str, int, dict[str, int]]]] = {}
            if args.traffic_seconds:
                traffic_rows, traffic_latencies = traffic_case(
                    browser, server.url, args.traffic_seconds, skip_bull_board is None
                )
                for busy in busy_counts:
                    busy_rows[busy] = busy_overview_case(
                        browser, server.url, args.traffic_seconds, busy, skip_bull_board is None
                    )
            quiet_rows = (
                quiet_case(browser, server.url, args.quiet_seconds) if args.quiet_seconds else []
            )
            browser.close()
    finally:
        meter.close()
        dashboard.stop()
        server.stop()

    minute = 60 / args.seconds
    print(f"bench/live.py: {server.kind} {server.version}, 5 idle queues, {args.seconds:.0f} s")
    print(f"{'setup':38} {'commands':>9} {'per min':>8} {'per month':>11}  detail")
    for name, spent, detail in rows + bb_rows:
        per_minute = spent * minute
        print(
            f"{name:38} {spent:9,} {per_minute:8.1f} {per_minute * 43_200:11,.0f}  "
            f"{' '.join(f'{k}:{v}' for k, v in sorted(detail.items())) or '-'}"
        )
    print("target: <= 10/min with a visible tab, 0 with none or hidden")
    if bb_rows:
        print(f"Bull Board measured in this run: {bb_version}")
        pairs = (
            ("visible tab", rows[1][1], bb_rows[0][1]),
            ("hidden tab", rows[2][1], bb_rows[1][1]),
        )
    else:
        print(
            f"Bull Board: NOT RUN ({skip_bull_board}); "
            f"DESIGN.md figure for a visible tab: {BULL_BOARD_PER_MINUTE}/min"
        )
        pairs = (("visible tab", rows[1][1], BULL_BOARD_PER_MINUTE / minute),)
    for label, ours, theirs in pairs:
        if ours and theirs:
            ratio = f"{ours / theirs:.4f} (Bull Board {theirs / ours:,.0f}x ours)"
        else:
            ratio = f"- (ours {ours * minute:,.1f}/min, Bull Board {theirs * minute:,.1f}/min)"
        print(f"ratio ours/Bull Board, {label}: {ratio}")
    print(f"footer of the open tab: {footer}")
    print(
        "Redis count changed -> page shows it, Node BullMQ 5 worker completing jobs: "
        + ", ".join(f"{s * 1000:.0f} ms" for s in latencies)
        + " (target: within 5 s)"
    )
    if traffic_rows:
        report_traffic(traffic_rows, traffic_latencies, args.traffic_seconds)
    for busy, each in busy_rows.items():
        report_busy(each, busy, args.traffic_seconds)
    if quiet_rows:
        report_quiet(quiet_rows, args.quiet_seconds)


def only_quiet(kind: str, seconds: float) -> None:
    """The quiet-queue case alone, on a fresh server with the demo queues: to run it on two
    builds of the dashboard (this bench file in an older checkout) and compare."""
    server = RedisServer(kind).start()
    try:
        filler = threading.Thread(target=lambda: asyncio.run(demo.fill(server.url)))
        filler.start()
        filler.join()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            rows = quiet_case(browser, server.url, seconds)
            browser.close()
    finally:
        server.stop()
    print(f"bench/live.py --only-quiet: {server.kind} {server.version}")
    report_quiet(rows, seconds)


def print_rows(rows: list[tuple[str, int, dict[str, int]]], minute: float) -> None:
    """One line a setup: its commands, a minute's worth, and its commands by name, most first."""
    for name, spent, detail in rows:
        top = sorted(detail.items(), key=lambda kv: -kv[1])
        print(
            f"{name:44} {spent:9,} {spent * minute:8.1f}  "
            f"{' '.join(f'{k}:{v}' for k, v in top) or '-'}"
        )


def report_quiet(rows: list[tuple[str, int, dict[str, int]]], seconds: float) -> None:
    minute = 60 / seconds
    print()
    print(
        f"quiet queue: Node BullMQ 5 adds a job to {TRAFFIC_QUEUE} every {QUIET_EVERY_S:.0f} s and "
        f"completes it; dashboard process alone (MONITOR), {seconds:.0f} s"
    )
    print_rows(rows, minute)


def report_busy(rows: list[tuple[str, int, dict[str, int]]], busy: int, seconds: float) -> None:
    minute = 60 / seconds
    print()
    print(
        f"overview under traffic: {busy} queues each adding and completing {BUSY_RATE} jobs/s "
        f"(Node BullMQ 5); dashboard process alone (MONITOR), {seconds:.0f} s"
    )
    print(f"{'setup':44} {'commands':>9} {'per min':>8}  detail")
    print_rows(rows, minute)
    ours = rows[0][1] * minute
    line = f"overview, {busy} busy queues: {ours:,.1f}/min (target <= {BUSY_TARGET}/min)"
    if len(rows) > 1 and rows[1][1]:
        theirs = rows[1][1]
        line += f"; Bull Board {theirs * minute:,.1f}/min, ours/theirs {rows[0][1] / theirs:.3f}"
    print(line)


def report_traffic(
    rows: list[tuple[str, int, dict[str, int]]], latencies: list[float], seconds: float
) -> None:
    minute = 60 / seconds
    print()
    print(
        f"under traffic: Node BullMQ 5 adding and completing {TRAFFIC_RATE} jobs/s on "
        f"{TRAFFIC_QUEUE}; executed commands of the dashboard process alone (MONITOR), "
        f"{seconds:.0f} s"
    )
    print(f"{'setup':44} {'commands':>9} {'per min':>8}  detail")
    print_rows(rows, minute)
    ours = {name.split(": ", 1)[1]: spent for name, spent, _ in rows if name.startswith("drain")}
    theirs = {name.split(": ", 1)[1]: spent for name, spent, _ in rows if name.startswith("Bull")}
    for tab, spent in ours.items():
        line = f"{tab}: {spent * minute:,.1f}/min (target <= {TRAFFIC_TARGET}/min on a queue page)"
        if theirs.get(tab):
            ratio = spent / theirs[tab]
            line += f"; Bull Board {theirs[tab] * minute:,.1f}/min, ours/theirs {ratio:.3f}"
        print(line)
    if latencies:
        ordered = sorted(latencies)
        print(
            f"Redis count rose -> queue page shows it, under traffic, {len(ordered)} rises: median "
            f"{ordered[len(ordered) // 2] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms "
            "(target: within 5 s)"
        )


if __name__ == "__main__":
    main()
