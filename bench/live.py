"""What a dashboard left open costs, and how fast it shows changes.

    .venv/bin/python -m bench.live [--seconds 60] [--server redis|valkey]

Five demo queues, idle, on a fresh server; `drainboard serve` in a child process; Debian's
Chromium through Playwright. Executed Redis commands (INFO commandstats) are measured over
`--seconds` with no tab, with one visible tab on the overview, and with that tab hidden. Then,
with drainboard stopped, the same for Bull Board (bench/bullboard/, its overview page, same
queues, same browser) unless --no-bull-board. Last, with drainboard back, a Node BullMQ worker
completes jobs while the tab is open, and the time from Redis's count changing to the page
showing it is measured. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import threading
import time
from pathlib import Path

import redis
from playwright.sync_api import Browser, Page, sync_playwright

from bench import bullboard
from bench.harness import CommandMeter, DashboardServer, RedisServer, command_diff
from dashboard import demo

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BULL_BOARD_PER_MINUTE = 1079  # DESIGN.md: one Bull Board tab on 5 idle queues (when not run)
COMPLETED = 'article.queue-card[data-queue="seed-jobs"] a.count[data-state="completed"] dd'


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--server", choices=("redis", "valkey"), default="redis")
    bullboard.add_flag(parser)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
