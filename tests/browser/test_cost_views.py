"""The cost panel and the quota view as an SRE sees them, at 1280 px and on a 390 px phone, light
and dark, while Node workers, a Python worker and another open tab spend commands: nothing
overflows the screen, the chart and the table print the same figures, the text is readable, and
the live section splits the total without contradicting itself."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import LiveDashboard

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
VIEWS = [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")]
MIN_FONT_PX = 11
RUN_S = 300

# The smallest font size of any visible text in <main>, and the text that has it.
SMALLEST_TEXT = """() => {
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  let smallest = [Infinity, ""];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!node.textContent.trim() || !element.getClientRects().length) continue;
    if (element.closest("details:not([open]) > :not(summary)")) continue;
    const size = parseFloat(getComputedStyle(element).fontSize);
    if (size < smallest[0]) smallest = [size, node.textContent.trim().slice(0, 40)];
  }
  return smallest;
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module")
def spenders(live: LiveDashboard) -> Iterator[None]:
    """Node BullMQ workers on two queues (one with a QueueEvents) and a Python bullmq worker."""
    node = subprocess.Popen(
        ["node", "idle.mjs", "5", live.redis_url, str(RUN_S), "batch-jobs:events", "journey-jobs"],
        cwd=ROOT / "tests" / "interop",
        stdout=subprocess.PIPE,
        text=True,
    )
    python = subprocess.Popen(
        [sys.executable, "-m", "tests.idle_python_worker", live.redis_url, "seed-jobs", str(RUN_S)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for process in (node, python):
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield
    finally:
        for process in (node, python):
            process.terminate()
            process.wait(10)


def per_minute(text: str) -> float:
    match = re.search(r"([\d,]+\.\d) (?:executed )?commands a minute", text)
    assert match, text
    return float(match.group(1).replace(",", ""))


@pytest.mark.parametrize(("width", "scheme"), VIEWS)
def test_cost_panel_reads_the_same_everywhere(
    live: LiveDashboard, spenders: None, open_page, width: int, scheme: str
) -> None:
    other_tab = open_page()  # an open tab elsewhere: the change watcher follows its queues
    other_tab.page.goto(live.url("/"))
    watched = open_page(color_scheme=scheme, viewport={"width": width, "height": 900})
    page = watched.page
    page.goto(live.url("/cost"))
    page.wait_for_selector(".live-split", timeout=30_000)

    modes = page.eval_on_selector_all("ol.cost-bars li", "els => els.map(e => e.dataset.mode)")
    assert modes == ["always", "cron", "cron-seed", "on-demand"]
    for mode in modes:
        bar = page.locator(f"ol.cost-bars li[data-mode='{mode}'] .value").inner_text()
        row = page.locator(f"table.modes tr[data-mode='{mode}']")
        share = row.locator("td.share").inner_text()
        month = row.locator("td[data-label='Executed / month']").inner_text()
        month = month.removeprefix("EXECUTED / MONTH").strip()  # the phone's cell label
        share = share.removeprefix("QUOTA").strip()
        print(f"{width} {scheme} {mode}: chart {bar!r}, table {month} / {share}")
        assert bar == f"{month} a month, {share} of the quota"

    body = page.locator(".live-measure").inner_text()
    dashboard = per_minute(page.locator("[data-part=dashboard] dd").inner_text())
    others = per_minute(page.locator("[data-part=others] dd").inner_text())
    total = per_minute(page.locator("[data-part=total] dd").inner_text())
    print(f"{width} {scheme} live: dashboard {dashboard}, others {others}, total {total}")
    # The other tab's watcher blocks up to a minute at a time while nothing changes: over 10 s
    # the dashboard may rightly spend nothing. The workers always spend.
    assert dashboard >= 0 and others > 0
    assert total == pytest.approx(dashboard + others, abs=0.2)
    assert "WORKER_INPROCESS" not in page.content() and "drainDelay (s)" not in body

    assert page.evaluate(OVERFLOW) <= 0
    if width == 390:
        size, text = page.evaluate(SMALLEST_TEXT)
        print(f"390 {scheme}: smallest text {size} px ({text!r})")
        assert size >= MIN_FONT_PX, text
    watched.screenshot(f"cost-panel-{width}-{scheme}")
    watched.assert_clean()


@pytest.mark.parametrize(("width", "scheme"), VIEWS)
def test_quota_view_fits_and_reads(
    live: LiveDashboard, spenders: None, open_page, width: int, scheme: str
) -> None:
    other_tab = open_page()
    other_tab.page.goto(live.url("/"))
    watched = open_page(color_scheme=scheme, viewport={"width": width, "height": 900})
    page = watched.page
    page.goto(live.url("/quota?seconds=10"), timeout=30_000)
    kinds = page.eval_on_selector_all(
        "table.quota-clients tbody tr", "els => els.map(e => e.innerText)"
    )
    text = "\n".join(kinds)
    assert "Node" in text and "Python" in text and "Drainboard" in text, text
    assert page.evaluate(OVERFLOW) <= 0
    if width == 390:
        size, smallest = page.evaluate(SMALLEST_TEXT)
        print(f"quota 390 {scheme}: smallest text {size} px ({smallest!r})")
        assert size >= MIN_FONT_PX, smallest
    watched.screenshot(f"quota-view-{width}-{scheme}")
    watched.assert_clean()
