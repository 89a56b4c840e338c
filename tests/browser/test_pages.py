"""The dashboard in a real browser: counts match the API, hostile data stays text, big data is cut.

Every page visited here must also load without console errors, uncaught errors, CSP violations
or dialogs. Screenshots land in test-artifacts/screenshots/ for CI to keep as artefacts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

import pytest
import redis
from playwright.sync_api import expect

from dashboard import demo
from dashboard.web.render import STATE_ORDER
from tests.helpers import LiveDashboard, Watched

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
HOSTILE_SCRIPT = "<script>window.__pwned = true</script>"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"


def number(text: str) -> int:
    return int(text.strip().replace(",", ""))


def api_queues(live: LiveDashboard) -> dict[str, dict]:
    return {q["name"]: q for q in live.api("/queues")["queues"]}


def test_overview_counts_match_the_api(live: LiveDashboard, open_page: Opener) -> None:
    api = api_queues(live)
    assert sorted(api) == sorted(demo.DEMO_QUEUES)

    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    cards = page.locator("article.queue-card")
    expect(cards).to_have_count(len(demo.DEMO_QUEUES))
    assert sorted(cards.evaluate_all("cs => cs.map(c => c.dataset.queue)")) == sorted(api)

    for name, queue in api.items():
        card = page.locator(f'article.queue-card[data-queue="{name}"]')
        expect(card.locator("h2 a")).to_have_text(name)
        assert set(queue["counts"]) == set(STATE_ORDER)
        for state, expected in queue["counts"].items():
            shown = card.locator(f'.count[data-state="{state}"] dd')
            assert number(shown.inner_text()) == expected, (name, state)
        total = card.locator(".total").inner_text().split()[0]  # "55 jobs"
        assert number(total) == sum(queue["counts"].values())
        paused = card.locator(".badge.paused")
        if name == demo.PAUSED_QUEUE:
            assert queue["isPaused"] is True
            expect(paused).to_be_visible()
            expect(paused).to_have_text(re.compile("paused", re.I))
        else:
            assert queue["isPaused"] is False
            expect(paused).to_have_count(0)

    watched.screenshot("overview-light")
    watched.assert_clean()


def test_dark_mode_changes_the_background(live: LiveDashboard, open_page: Opener) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        watched = open_page(color_scheme=scheme)
        watched.page.goto(live.url("/"))
        expect(watched.page.locator("article.queue-card")).to_have_count(len(demo.DEMO_QUEUES))
        colours[scheme] = watched.page.evaluate("getComputedStyle(document.body).backgroundColor")
        watched.screenshot(f"overview-{scheme}")
        watched.assert_clean()

    assert colours["light"] != colours["dark"]

    def brightness(css: str) -> int:
        return sum(int(c) for c in re.findall(r"\d+", css)[:3])

    assert brightness(colours["dark"]) < brightness(colours["light"]), colours


def test_queue_failed_tab_and_job_link(live: LiveDashboard, open_page: Opener) -> None:
    api = api_queues(live)
    # The queue with the most failed jobs, so the table has rows to check.
    name = max(api, key=lambda n: api[n]["counts"]["failed"])
    total = api[name]["counts"]["failed"]
    assert total > 0

    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    page.locator(f'article.queue-card[data-queue="{name}"] h2 a').click()
    expect(page).to_have_url(re.compile(rf"/queue/{re.escape(quote(name))}$"))
    expect(page.locator("main h1")).to_contain_text(name)

    page.locator('nav.tabs a.tab[data-state="failed"]').click()
    expect(page).to_have_url(re.compile(r"[?&]status=failed"))
    tab = page.locator('nav.tabs a.tab[data-state="failed"]')
    expect(tab).to_have_attribute("aria-current", "page")
    assert number(tab.locator(".pill").inner_text()) == total

    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(min(total, 25))
    expect(page.locator("table.jobs thead")).to_contain_text("Failed reason")
    api_ids = [j["id"] for j in live.api(f"/queues/{name}/jobs?status=failed&pageSize=25")["jobs"]]
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.jobId)") == api_ids
    watched.screenshot("queue-failed")

    first = rows.first
    job_id = first.get_attribute("data-job-id")
    first.locator("td.id a").click()
    expect(page).to_have_url(re.compile(rf"/queue/{re.escape(quote(name))}/jobs/{job_id}$"))
    expect(page.locator("main h1")).to_contain_text(f"#{job_id}")
    expect(page.locator(".badge.state")).to_have_attribute("data-state", "failed")
    expect(page.locator("section.panel.failed pre.reason")).to_be_visible()
    expect(page.locator("#data")).to_be_visible()
    watched.screenshot("job-failed")
    watched.assert_clean()


def assert_hostile_job_is_inert(watched: Watched) -> None:
    page = watched.page
    expect(page.locator("main h1")).to_contain_text(demo.HOSTILE_JOB_ID)
    data = page.locator("#data")
    expect(data.get_by_text(HOSTILE_SCRIPT)).to_be_visible()
    expect(data.get_by_text(HOSTILE_IMG)).to_be_visible()
    page.wait_for_load_state("load")
    # A broken <img> fires onerror almost at once; leave it time to, had it been created.
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    planted = page.evaluate(
        """() => ({
            scripts: [...document.querySelectorAll("script")]
                .filter(s => s.textContent.includes("__pwned") || !s.src).length,
            imgs: document.querySelectorAll("img[onerror], img[src='x']").length,
            handlers: [...document.querySelectorAll("*")]
                .filter(e => [...e.attributes].some(a => a.name.startsWith("on"))).length,
        })"""
    )
    assert planted == {"scripts": 0, "imgs": 0, "handlers": 0}
    assert watched.dialogs == []


def test_hostile_job_data_is_shown_as_text(live: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    response = page.goto(live.url(f"/queue/batch-jobs/jobs/{demo.HOSTILE_JOB_ID}"))
    assert response is not None and response.status == 200
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    assert_hostile_job_is_inert(watched)
    watched.screenshot("job-hostile")
    watched.assert_clean()


def test_hostile_job_reached_through_htmx(live: LiveDashboard, open_page: Opener) -> None:
    """htmx swaps boosted pages into the document itself: the data must stay inert there too."""
    watched = open_page()
    page = watched.page
    page.goto(live.url("/queue/batch-jobs?status=waiting"))
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")
    link = page.locator(f'tr[data-job-id="{demo.HOSTILE_JOB_ID}"] td.id a')
    link.click()
    expect(page).to_have_url(re.compile(rf"/jobs/{demo.HOSTILE_JOB_ID}$"))
    # Still the same document: htmx fetched the job page and swapped it in.
    assert page.evaluate("window.__sameDocument") is True
    assert_hostile_job_is_inert(watched)
    watched.assert_clean()


def test_big_job_is_cut_with_a_link_to_the_whole(live: LiveDashboard, open_page: Opener) -> None:
    client = redis.Redis.from_url(live.redis_url)
    try:
        stored = client.hstrlen(f"bull:batch-jobs:{demo.BIG_JOB_ID}", "data")
    finally:
        client.close()
    assert stored > 5_000_000

    watched = open_page()
    page = watched.page
    response = page.goto(live.url(f"/queue/batch-jobs/jobs/{demo.BIG_JOB_ID}"))
    assert response is not None and response.status == 200
    html_size = len(response.body())
    assert html_size < 300_000, f"the job page weighs {html_size} bytes"

    notice = page.locator("#data p.notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(re.compile(r"the first .+ are shown"))
    expect(page.locator("#data pre.json")).to_be_visible()

    href = notice.get_by_role("link", name="the whole value").get_attribute("href")
    assert href is not None and href.endswith(f"/jobs/{demo.BIG_JOB_ID}/raw/data")
    raw = page.request.get(live.origin + href)
    assert raw.status == 200
    assert raw.headers["content-type"].startswith("application/json")
    assert len(raw.body()) == stored
    watched.screenshot("job-big", full_page=False)
    watched.assert_clean()


def test_the_watchers_catch_what_they_watch(live: LiveDashboard, open_page: Opener) -> None:
    """The clean-page checks above mean something only if a violation would be seen."""
    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__inline = 1";
            document.body.append(s);
            console.error("deliberate");
        }"""
    )
    page.wait_for_timeout(100)
    assert page.evaluate("typeof window.__inline") == "undefined"
    assert any("script-src" in v for v in watched.csp), watched.csp
    assert any("deliberate" in e for e in watched.errors), watched.errors
    with pytest.raises(AssertionError):
        watched.assert_clean()
