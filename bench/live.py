"""What a dashboard left open costs, and how fast it shows changes.

    .venv/bin/python -m bench.live [--seconds 60] [--server redis|valkey]

Five demo queues, idle, on a fresh server; `drainboard serve` in a child process; Debian's
Chromium through Playwright. Executed Redis commands (INFO commandstats) are measured over
`--seconds` with no tab, with one visible tab on the overview, and with that tab hidden. Then a
Node BullMQ worker completes jobs while the tab is open, and the time from Redis's count
changing to the page showing it is measured. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import threading
import time
from pathlib import Path

import redis
from playwright.sync_api import Page, sync_playwright

from bench.harness import CommandMeter, DashboardServer, RedisServer, command_diff
from dashboard import demo

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BULL_BOARD_PER_MINUTE = 1079  # DESIGN.md: one Bull Board tab on 5 idle queues
COMPLETED = 'article.queue-card[data-queue="seed-jobs"] a.count[data-state="completed"] dd'


def measure(meter: CommandMeter, seconds: float) -> tuple[int, dict[str, int]]:
    before, start = meter.per_command(), meter.start()
    time.sleep(seconds)
    spent = meter.since(start)
    return spent, command_diff(before, meter.per_command())


def set_visibility(page: Page, state: str) -> None:
    """What the browser does when the tab goes to the background, or comes back."""
    page.evaluate(
        """(state) => {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
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
    page.wait_for_function(
        f"document.querySelector('{COMPLETED}').innerText !== '{shown}'", timeout=15_000
    )
    latency = time.monotonic() - changed_at
    worker.wait(30)
    return latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--server", choices=("redis", "valkey"), default="redis")
    args = parser.parse_args()
    server = RedisServer(args.server).start()
    filler = threading.Thread(target=lambda: asyncio.run(demo.fill(server.url)))
    filler.start()
    filler.join()
    dashboard = DashboardServer(server.url).start()
    meter = CommandMeter(server.url)
    rows = []
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
    print(f"{'setup':34} {'commands':>9} {'per min':>8} {'per month':>11}  detail")
    for name, spent, detail in rows:
        per_minute = spent * minute
        print(
            f"{name:34} {spent:9,} {per_minute:8.1f} {per_minute * 43_200:11,.0f}  "
            f"{' '.join(f'{k}:{v}' for k, v in sorted(detail.items())) or '-'}"
        )
    print(
        "target: <= 10/min with a visible tab, 0 with none or hidden; "
        f"Bull Board: {BULL_BOARD_PER_MINUTE}/min"
    )
    visible_per_minute = rows[1][1] * minute
    if visible_per_minute:
        ratio = BULL_BOARD_PER_MINUTE / visible_per_minute
        print(f"ratio Bull Board / ours (visible tab): {ratio:,.0f}x")
    print(f"footer of the open tab: {footer}")
    print(
        "Redis count changed -> page shows it, Node BullMQ 5 worker completing jobs: "
        + ", ".join(f"{s * 1000:.0f} ms" for s in latencies)
        + " (target: within 5 s)"
    )


if __name__ == "__main__":
    main()
