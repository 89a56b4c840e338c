"""A newcomer's first visit to the demo, in Chromium: the rough edges a tour found, each checked,
and the screenshots (light, dark, 390 px) of every kind of page.

The tests run in file order on one demo dashboard: the ones that change data come last.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from dashboard import demo
from tests.helpers import LiveDashboard, Watched

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
PHONE = {"width": 390, "height": 844}
OPENED_LIVE_STREAM = (
    "() => performance.getEntriesByType('resource').some(e => e.name.includes('/live'))"
)
FOOTER_RATE = re.compile(r"Leaving it open: about ([\d,]+) commands a month")


def first_job(live: LiveDashboard, queue: str, status: str) -> dict:
    return live.api(f"/queues/{queue}/jobs?status={status}&pageSize=1")["jobs"][0]


def test_the_footer_reports_the_idle_rate_however_often_the_page_loads(
    live: LiveDashboard, open_page: Opener
) -> None:
    watched = open_page()
    page = watched.page
    figures = []
    for _ in range(4):
        page.goto(live.url("/"))
        # The live stream is open, so the shared watcher has (re)started and spent its reads.
        page.wait_for_function(OPENED_LIVE_STREAM)
        page.wait_for_timeout(300)
        figures.append(FOOTER_RATE.search(page.inner_text("footer"))[1])
    # Idle: one blocking XREAD a minute, 43,200 a month, on the first load and the fourth.
    assert figures == ["43,200"] * 4
    watched.assert_clean()


def test_the_overview_is_usable_by_keyboard(live: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    expect(page.locator("article.queue-card")).to_have_count(len(demo.DEMO_QUEUES))
    reached, tiles = [], 0
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.textContent.trim()"))
        tiles += page.evaluate("document.activeElement.classList.contains('count')")
        if reached[-1] == demo.DEMO_QUEUES[-1]:
            break
    # The top bar and the page's buttons, then one stop per queue: none per count tile (8 a queue).
    assert tiles == 0
    assert [q for q in reached if q in demo.DEMO_QUEUES] == list(demo.DEMO_QUEUES), reached
    assert len(reached) <= 10 + len(demo.DEMO_QUEUES), reached  # the top bar: 10 stops with Audit
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/queue/{demo.DEMO_QUEUES[-1]}$"))
    watched.assert_clean()


def test_a_progress_bar_in_a_list_shows_its_number(live: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/queue/batch-jobs?status=active"))
    cells = page.locator("table.jobs .progress")
    expect(cells.first).to_be_visible()
    for job in live.api("/queues/batch-jobs/jobs?status=active")["jobs"]:
        cell = page.locator(f'tr[data-job-id="{job["id"]}"] .progress')
        expect(cell).to_have_text(f"{job['progress']}%")
    watched.assert_clean()


def test_the_json_tree_has_commas_and_fold_markers(live: LiveDashboard, open_page: Opener) -> None:
    job = live.api("/queues/batch-jobs/jobs/hostile-html")
    watched = open_page()
    page = watched.page
    page.goto(live.url("/queue/batch-jobs/jobs/hostile-html"))
    tree = page.locator("#data .json-tree")
    # Unfolded, the tree reads as the JSON it shows.
    tree.evaluate("t => t.querySelectorAll('details').forEach(d => (d.open = true))")
    assert json.loads(tree.inner_text()) == job["data"]
    summary = tree.locator("details > summary").first
    marker = "s => getComputedStyle(s, '::before').content"
    assert summary.evaluate(marker) == '"▾"'
    summary.click()
    assert summary.evaluate(marker) == '"▸"'
    assert re.fullmatch(r"▸?\s*\{ 2 keys \}", tree.inner_text().strip()), tree.inner_text()
    opts = page.locator("#opts .json-tree")
    opts.evaluate("t => t.querySelectorAll('details').forEach(d => (d.open = true))")
    assert json.loads(opts.inner_text()) == job["opts"]
    watched.assert_clean()


def test_the_job_page_shows_a_duration(live: LiveDashboard, open_page: Opener) -> None:
    job = first_job(live, "dsar-jobs", "completed")
    watched = open_page()
    page = watched.page
    page.goto(live.url(f"/queue/dsar-jobs/jobs/{job['id']}"))
    fact = page.locator(".fact", has_text="Duration")
    expect(fact).to_be_visible()
    expect(fact.locator("[data-duration]")).to_have_text(re.compile(r"^\d+(\.\d)? m?s$"))
    watched.assert_clean()


def test_a_page_past_the_last_shows_the_last(live: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/queue/batch-jobs?status=completed&pageSize=5&page=99"))
    pager = page.locator("nav.pager")
    expect(pager).to_contain_text(re.compile(r"Page (\d+) of \1\b"))
    assert "page=99" not in page.url
    first = pager.get_by_role("link", name="« First")
    assert first.get_attribute("href").endswith("status=completed&pageSize=5&page=1")
    watched.assert_clean()


def test_the_paused_queue_says_its_jobs_are_held(live: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url(f"/queue/{demo.PAUSED_QUEUE}"))
    expect(page.locator(".notice-line.held")).to_contain_text("This queue is paused")
    expect(page.locator(".notice-line.held")).to_contain_text("held until you resume it")
    watched.assert_clean()


def test_the_cost_panel_speaks_to_users_and_follows_its_form(
    live: LiveDashboard, open_page: Opener
) -> None:
    watched = open_page()
    page = watched.page
    page.goto(live.url("/cost"))
    text = page.inner_text("main")
    seed_words = re.compile(r"\bseeds?\b(?!-jobs)", re.I)  # the demo queue seed-jobs is fine
    assert not seed_words.search(text), text
    expect(page.locator("#cost-subtitle")).to_contain_text("5-queue setup")
    page.fill("input[name=queues]", "20")
    page.dispatch_event("input[name=queues]", "change")
    expect(page.locator("#cost-subtitle")).to_contain_text("20-queue setup")
    page.fill("input[name=queues]", "-3")
    page.dispatch_event("input[name=queues]", "change")
    error = page.locator("#projection .notice-line.bad")
    expect(error).to_contain_text("queues must be")
    expect(error).to_contain_text("-3")
    page.fill("input[name=queues]", "7")
    page.dispatch_event("input[name=queues]", "change")
    expect(page.locator("#cost-subtitle")).to_contain_text("7-queue setup")
    expect(error).to_have_count(0)
    watched.errors = [e for e in watched.errors if "400" not in e]  # the answer to -3
    watched.assert_clean()


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box, f"{selector} is not displayed"
    return box


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_a_phone_reaches_everything_without_sideways_scrolling(
    live: LiveDashboard, open_page: Opener
) -> None:
    watched = open_page(viewport=PHONE)
    page = watched.page
    failed = first_job(live, "batch-jobs", "failed")
    for path in (
        "/",
        "/queue/batch-jobs?status=failed",
        f"/queue/batch-jobs/jobs/{failed['id']}",
        "/cost",
        "/drains",
    ):
        page.goto(live.url(path))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"
        # A queue's job list keeps its top bar to one line: its heading names the queue.
        if path not in ("/", "/queue/batch-jobs?status=failed"):
            crumbs = _box(page, "nav.crumbs")
            assert crumbs["width"] > 50, f"{path}: breadcrumb is {crumbs['width']} px wide"
            for link in ("a.navlink >> nth=0", "a.navlink >> nth=1", "a.brand"):
                assert not _overlap(crumbs, _box(page, link)), f"{path}: breadcrumb covers {link}"
    page.goto(live.url("/queue/batch-jobs?status=failed"))
    # The actions fold into a menu beside the heading (tests/browser/test_phone.py).
    title, menu = _box(page, "h1"), _box(page, ".page-head .actions-toggle")
    assert not _overlap(title, menu)
    assert (
        page.evaluate(
            "(() => { const h = document.querySelector('h1'); const r = document.createRange();"
            " r.selectNodeContents(h.firstChild); return r.getClientRects().length; })()"
        )
        == 1
    ), "the queue name breaks over lines"
    row = page.locator(f'tr[data-job-id="{failed["id"]}"]')
    for part in ("td.reason", "button:has-text('Retry')"):
        box = row.locator(part).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], part
    watched.assert_clean()


SCREENS = {
    "overview": "/",
    "queue": "/queue/batch-jobs?status=failed",
    "job": None,  # the first failed job of batch-jobs
    "cost": "/cost",
    "404": "/queue/batch-jobs/jobs/no-such-job",
}


@pytest.mark.parametrize("look", ["light", "dark", "phone"])
def test_screenshots_of_every_kind_of_page(
    live: LiveDashboard, open_page: Opener, look: str
) -> None:
    watched = open_page(viewport=PHONE) if look == "phone" else open_page(color_scheme=look)
    page = watched.page
    for name, path in SCREENS.items():
        if path is None:
            path = f"/queue/batch-jobs/jobs/{first_job(live, 'batch-jobs', 'failed')['id']}"
        answer = page.goto(live.url(path))
        assert answer and answer.status == (404 if name == "404" else 200)
        # Every page, the error page too, is styled: the stylesheet loaded from the base path.
        assert page.evaluate("getComputedStyle(document.body).display") == "flex", name
        if name == "cost":
            page.wait_for_selector(".live-measure", timeout=20_000)
        watched.screenshot(f"first-visit-{name}-{look}")
    watched.errors = [e for e in watched.errors if "404 (Not Found)" not in e]
    watched.assert_clean()


def test_remove_on_a_job_page_returns_to_the_queue_with_a_notice(
    live: LiveDashboard, open_page: Opener
) -> None:
    job = first_job(live, "journey-jobs", "failed")
    watched = open_page()
    watched.answer = "accept"
    page = watched.page
    page.goto(live.url(f"/queue/journey-jobs/jobs/{job['id']}"))
    page.click("button:has-text('Remove')")
    page.wait_for_url(re.compile(r"/queue/journey-jobs\?status=failed&removed="))
    expect(page.locator(".notice-line.ok")).to_have_text(f"Job {job['id']} removed.")
    expect(page.locator(f'tr[data-job-id="{job["id"]}"]')).to_have_count(0)
    assert watched.answered == [f"confirm: Remove job {job['id']} for good?"]
    watched.assert_clean()
