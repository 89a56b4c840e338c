"""The rough edges of issue 24, each measured in a real browser at the size it was seen at.

This module has its own live dashboard and demo data (module-scoped), since some tests change it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable

import pytest
from bullmq import Queue, Worker
from playwright.sync_api import Page, expect

from dashboard.config import DEFAULT_BASE_PATH, Settings, hosts_for_bind
from dashboard.web import create_app
from tests.helpers import LiveDashboard, Watched, in_thread, node_json, serving

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
WIDE = {"width": 1280, "height": 800}
NESTED = {"filters": {"from": "2026-10-01"}, "segments": ["vip", {"tier": 2}], "format": "csv"}


def box(page: Page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


def text_width(page: Page, selector: str, text: str) -> float:
    """How wide `text` is in the font of the element `selector`."""
    return page.evaluate(
        """([selector, text]) => {
          const ctx = document.createElement("canvas").getContext("2d");
          ctx.font = getComputedStyle(document.querySelector(selector)).font;
          return ctx.measureText(text).width;
        }""",
        [selector, text],
    )


def test_a_notice_opens_no_blank_band(live: LiveDashboard, open_page: Opener) -> None:
    """Rough edge 1: beside the queue switcher, a notice over a short list kept its own height."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/seed-jobs?status=waiting-children"))
    expect(page.locator("section.empty")).to_be_visible()
    watched.answer = "accept"
    page.get_by_role("button", name="Pause queue").click()
    expect(page.locator("#notices .notice-line.ok")).to_be_visible()
    page.wait_for_load_state("networkidle")
    notices = box(page, "#notices")
    gap = box(page, "#content")["y"] - (notices["y"] + notices["height"])
    assert gap < 30, f"{gap:.0f} px between the notice and the page heading"
    watched.screenshot("notice-no-band")
    watched.assert_clean()


def test_delayed_tab_with_scheduler_ids_fits_at_1280(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 2: long ids wrap; Promote and "in 27 d" stay whole, inside the card."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/batch-jobs?status=delayed"))
    ids = page.locator("table.jobs td.id").all_inner_texts()
    assert any(i.startswith("repeat:") for i in ids), ids
    widths = page.evaluate(
        "() => { const w = document.querySelector('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    assert widths[0] <= widths[1], f"table {widths[0]} px wide in a {widths[1]} px card"
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('table.jobs td.act button')]"
        ".filter(b => b.scrollWidth > b.clientWidth).length"
    )
    assert clipped == 0
    wrapped = page.evaluate(
        "() => [...document.querySelectorAll('table.jobs tbody time')]"
        ".filter(t => t.getClientRects().length > 1).map(t => t.textContent)"
    )
    assert wrapped == []
    watched.screenshot("delayed-scheduler-ids")
    watched.assert_clean()


def add_nested_job(url: str) -> str:
    ids: list[str] = []

    async def add() -> None:
        queue = Queue("journey-jobs", {"connection": url})
        ids.append((await queue.add("nested", NESTED)).id)
        await queue.close()

    in_thread(lambda: asyncio.run(add()))
    return ids[0]


def test_json_viewer_keeps_commas_with_their_values(live: LiveDashboard, open_page: Opener) -> None:
    """Rough edge 4: no comma alone on a line after a nested object or list."""
    job_id = add_nested_job(live.redis_url)
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url(f"/queue/journey-jobs/jobs/{job_id}"))
    tree = page.locator("#data .json-tree").first
    expect(tree).to_be_visible()
    # A comma alone on its line starts where its item starts; after `}` it starts a glyph later.
    lone = tree.evaluate(
        """t => [...t.querySelectorAll(".p")]
          .filter(c => c.textContent === "," && c.getClientRects().length)
          .filter(c => c.getBoundingClientRect().left
            - c.closest("li").getBoundingClientRect().left < 3)
          .length"""
    )
    assert lone == 0
    lines = [line.strip() for line in tree.inner_text().splitlines()]
    assert "}," in lines and "]," in lines, lines
    # Folded, a value keeps its comma too.
    tree.locator("summary").nth(1).click()
    lines = [line.strip() for line in tree.inner_text().splitlines()]
    assert "," not in lines and any(line.endswith("1 key },") for line in lines), lines
    watched.assert_clean()


def test_job_page_facts_sit_on_one_row_apart_from_the_panel(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 5: the facts had no gap above the next panel; Progress sat alone."""
    failed = live.api("/queues/batch-jobs/jobs?status=failed&pageSize=1")["jobs"][0]["id"]
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url(f"/queue/batch-jobs/jobs/{failed}"))
    facts = box(page, "section.facts")
    panel = box(page, "section.facts + section")
    assert panel["y"] - (facts["y"] + facts["height"]) >= 8
    tops = {round(f["y"]) for f in map(lambda i: i.bounding_box(), page.locator(".fact").all())}
    assert len(tops) == 1, tops
    watched.assert_clean()


def fail_one_job(url: str, queue_name: str) -> None:
    async def work() -> None:
        queue = Queue(queue_name, {"connection": url})
        worker = Worker(queue_name, None, {"connection": url, "autorun": False})
        await queue.add("lonely", {})
        job = await worker.getNextJob("token")
        await job.moveToFailed(RuntimeError("the only failure"), "token")
        await worker.close(force=True)
        await queue.close()

    in_thread(lambda: asyncio.run(work()))


def test_words_for_one_and_for_none(live: LiveDashboard, open_page: Opener) -> None:
    """Rough edge 13: "Retry all 1 failed jobs" and "The last 0 drains"."""
    fail_one_job(live.redis_url, "one-failure")
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/"))
    page.get_by_role("button", name="Rescan for queues").click()  # the new queue
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("Found")
    page.goto(live.url("/queue/one-failure?status=failed"))
    watched.answer = "dismiss"
    page.get_by_role("button", name="Retry all 1").click()
    page.wait_for_timeout(100)
    assert watched.answered == ["confirm: Retry the 1 failed job in one-failure?"]

    page.goto(live.url("/drains"))
    expect(page.locator("main")).not_to_contain_text("The last 0")
    watched.assert_clean()


def test_settings_select_and_search_placeholder_are_whole(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 13: the Settings select and the search placeholder were cut."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/settings"))
    for select in page.locator("main select").all():
        name = select.get_attribute("name")
        selector = f'main select[name="{name}"]'
        options = select.locator("option").all_inner_texts()
        longest = max(text_width(page, selector, t) for t in options)
        room = select.evaluate("s => s.clientWidth - 40")  # padding and the arrow
        assert longest <= room, (name, longest, room)

    page.goto(live.url("/queue/batch-jobs?status=failed"))
    selector = ".queue-search input[type=search]"
    placeholder = page.locator(selector).get_attribute("placeholder") or ""
    room = page.locator(selector).evaluate("i => i.clientWidth - 20")
    assert text_width(page, selector, placeholder) <= room
    watched.assert_clean()


def test_add_job_says_the_position_once_and_links_the_job(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 10: "line 1, column 24: … position 23 (line 1 column 24)"; no link to the job."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/seed-jobs/add"))
    page.locator("input[name=name]").fill("linked")
    data = page.locator("textarea[name=data]")
    data.fill('{"tenantId": "acme" "x": 1}')
    check = page.locator("#data-check")
    expect(check).to_contain_text("Not valid JSON at line 1, column 21")
    assert "position" not in check.inner_text() and check.inner_text().count("column") == 1
    data.fill('{"tenantId": "acme"}')
    page.get_by_role("button", name="Add job").click()
    link = page.locator("#notices .notice-line.ok a")
    expect(link).to_have_text(re.compile(r"^Open job \S+$"))
    job_id = link.inner_text().removeprefix("Open job ")
    link.click()
    expect(page.locator("main h1")).to_contain_text(f"#{job_id}")
    watched.assert_clean()


def test_a_paused_queue_waiting_tab_counts_what_it_lists(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 11: a queue paused by Node BullMQ 5 keeps its jobs in the `paused` list; the
    Waiting tab lists them (as Node's getJobs(["waiting"]) does) but counted 0."""
    node = shutil.which("node")
    assert node, "the browser tests need Node.js on PATH (make test)"
    node_json(node, "produce.mjs", "5", live.redis_url, "bull", "node5")
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/"))
    page.get_by_role("button", name="Rescan for queues").click()  # the new queues
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("Found")
    api = live.api("/queues/node5-paused/jobs?status=waiting&pageSize=200")
    assert api["jobs"] and api["total"] == len(api["jobs"])
    page.goto(live.url("/queue/node5-paused?status=waiting"))
    rows = page.locator("table.jobs tbody tr[data-job-id]")
    expect(rows.first).to_be_visible()
    chip = page.locator("a.tab[data-state='waiting'] .pill")
    expect(chip).to_have_text(str(rows.count()))
    watched.assert_clean()


def test_a_row_promote_confirms_as_retry_does(live: LiveDashboard, open_page: Opener) -> None:
    """Rough edge 13: per-row Promote ran at once, while per-row Retry asked first."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/journey-jobs?status=delayed"))
    row = page.locator("table.jobs tbody tr[data-job-id]").first
    job_id = row.get_attribute("data-job-id")
    watched.answer = "dismiss"
    row.get_by_role("button", name="Promote").click()
    page.wait_for_timeout(100)
    assert watched.answered == [f"confirm: Promote job {job_id} to run now?"]
    assert live.api(f"/queues/journey-jobs/jobs/{job_id}")["state"] == "delayed"
    watched.assert_clean()


def paused_with_an_active_job(url: str, queue_name: str) -> None:
    async def work() -> None:
        queue = Queue(queue_name, {"connection": url})
        worker = Worker(queue_name, None, {"connection": url, "autorun": False})
        await queue.add("taken", {})
        await queue.add("queued", {})
        await worker.getNextJob("token")
        await queue.pause()
        await worker.close(force=True)
        await queue.close()

    in_thread(lambda: asyncio.run(work()))


def test_obliterate_waits_for_force_and_says_it_is_done(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 8: the button was enabled without "force" while jobs were active, then
    answered 409; after a forced obliterate the overview said nothing."""
    paused_with_an_active_job(live.redis_url, "doomed")
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/"))
    page.get_by_role("button", name="Rescan for queues").click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("Found")
    page.goto(live.url("/queue/doomed/manage"))
    obliterate = page.locator("#obliterate")
    button = obliterate.get_by_role("button", name="Obliterate doomed")
    obliterate.locator("input[name=confirm]").fill("doomed")
    expect(button).to_be_disabled()
    obliterate.locator("input[name=force]").check()
    expect(button).to_be_enabled()
    watched.answer = "accept"
    button.click()
    expect(page.locator("main .notice-line.ok")).to_have_text(
        "Queue doomed was obliterated, with all its jobs."
    )
    expect(page.locator('article.queue-card[data-queue="doomed"]')).to_have_count(0)
    watched.assert_clean()


def test_empty_with_delayed_counts_what_it_removes_and_says_why_some_stay(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 9: "Remove all 8" removed 6; the job schedulers' next jobs stayed, unsaid."""
    summary = {q["name"]: q for q in live.api("/queues")["queues"]}["batch-jobs"]["counts"]
    queued = sum(summary[s] for s in ("waiting", "prioritized", "paused", "delayed"))
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/batch-jobs/manage"))
    button = page.get_by_role("button", name=re.compile(r"^Empty with delayed"))
    promised = int(button.inner_text().rsplit(" ", 1)[1].replace(",", ""))
    assert 0 < promised < queued, (promised, queued)
    watched.answer = "accept"
    button.click()
    notice = page.locator("#notices .notice-line.ok")
    expect(notice).to_contain_text(f"removed {promised} waiting, prioritized and delayed jobs.")
    expect(notice).to_contain_text(f"{queued - promised} jobs stayed: BullMQ's drain keeps")
    [asked] = watched.answered
    assert asked.startswith(f"confirm: Remove {promised} of the {queued} waiting"), asked
    assert "job scheduler" in asked, asked
    watched.assert_clean()


def test_add_job_drops_a_stale_refusal(live: LiveDashboard, open_page: Opener) -> None:
    """Rough edge 10: after a rejected submit the red "not valid JSON" notice stayed beside
    "Valid JSON."."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/seed-jobs/add"))
    page.locator("input[name=name]").fill("stale")
    data = page.locator("textarea[name=data]")
    data.fill('{"a": 1')
    page.get_by_role("button", name="Add job").click()
    refusal = page.locator("#notices .notice-line.bad")
    expect(refusal).to_contain_text("not valid JSON")
    data.fill('{"a": 1}')
    expect(page.locator("#data-check")).to_have_text("Valid JSON.")
    expect(refusal).to_have_count(0)
    # The refused submit's 400, as the browser and htmx log it, are the page's only errors.
    assert len(watched.errors) == 2 and all("400" in e for e in watched.errors), watched.errors
    watched.errors.clear()
    watched.assert_clean()


def test_add_job_words_a_bad_number(live: LiveDashboard, open_page: Opener) -> None:
    """Rough edge 10: attempts `-3` got only the browser's "Please match the requested
    format."."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/seed-jobs/add"))
    page.locator("input[name=name]").fill("numbered")
    attempts = page.locator("input[name=attempts]")
    attempts.fill("-3")
    page.get_by_role("button", name="Add job").click()
    assert attempts.evaluate("i => i.validationMessage") == (
        'Attempts takes a whole number, 0 or more; "-3" is not one.'
    )
    expect(page.locator("#notices .notice-line")).to_have_count(0)  # nothing was sent
    watched.assert_clean()


def test_duplicate_adds_one_copy_per_click_of_intent(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 10: after Duplicate the form stayed ready, so a second click added a second
    copy."""
    source = live.api("/queues/journey-jobs/jobs?status=waiting&pageSize=1")["jobs"][0]["id"]
    before = live.api("/queues/journey-jobs/jobs?status=waiting&pageSize=1")["total"]
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url(f"/queue/journey-jobs/add?from={source}"))
    expect(page.locator("main h1")).to_contain_text(f"Duplicate job {source}")
    button = page.locator("form.job-form button[type=submit]")
    button.click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("Added job")
    expect(button).to_be_disabled()
    expect(button).to_have_text("Added: change the form to add another")
    button.click(force=True)  # a second click on the resting button adds nothing
    page.wait_for_timeout(200)
    after = live.api("/queues/journey-jobs/jobs?status=waiting&pageSize=1")["total"]
    assert after == before + 1
    page.locator("input[name=name]").fill("another copy")
    expect(button).to_be_enabled()
    expect(button).to_have_text("Add job")
    watched.assert_clean()


def test_run_now_does_not_leave_the_old_next_run(live: LiveDashboard, open_page: Opener) -> None:
    """Rough edge 13: after a scheduler's Run now, its row still said "Next run in 15 h"."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/batch-jobs/schedulers"))
    row = page.locator("table.schedulers tbody tr", has=page.get_by_role("button", name="Run now"))
    row = row.first
    scheduler = row.get_attribute("data-scheduler-id")
    expect(row.locator("time")).to_be_visible()
    watched.answer = "accept"
    row.get_by_role("button", name="Run now").click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("runs as soon as")
    row = page.locator(f'table.schedulers tbody tr[data-scheduler-id="{scheduler}"]')
    expect(row.locator(".ran-now")).to_contain_text("no longer delayed (promoted or taken)")
    expect(row.locator("time")).to_have_count(0)
    expect(row.get_by_role("button", name="Run now")).to_have_count(0)
    watched.assert_clean()


def add_mail(url: str) -> None:
    async def add() -> None:
        queue = Queue("mail", {"connection": url})
        await queue.add("ok", {})
        await queue.add("ok", {})
        await queue.add("bad", {"fail": "this one"})
        await queue.close()

    in_thread(lambda: asyncio.run(add()))


def test_drain_now_says_failed_jobs_are_among_those_processed(
    live: LiveDashboard, open_page: Opener
) -> None:
    """Rough edge 13: "Drained 20 jobs (… 20 processed, 1 failed)": was the failed one among
    the 20? Now: completed plus failed make the jobs drained."""
    add_mail(live.redis_url)
    settings = Settings(
        redis_url=live.redis_url,
        queues=("mail",),
        processors="tests.drain_processors:PROCESSORS",
        allowed_hosts=hosts_for_bind("127.0.0.1"),
    )
    with serving(create_app(settings)) as origin:
        watched = open_page(viewport=WIDE)
        page = watched.page
        page.goto(f"{origin}{DEFAULT_BASE_PATH}/queue/mail")
        watched.answer = "accept"
        page.get_by_role("button", name="Drain now").click()
        notice = page.locator("#notices .notice-line.ok")
        expect(notice).to_have_text(
            re.compile(r"^Drained 3 jobs in [\d,]+ ms \(mail: 2 completed, 1 failed\)\.$")
        )
        page.wait_for_load_state("networkidle")
        watched.assert_clean()


def test_search_says_where_each_job_matched(live: LiveDashboard, open_page: Opener) -> None:
    """Rough edge 13: search results did not say where the text matched, and completed jobs
    had an empty "Failed reason" column."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url("/queue/batch-jobs/search?status=completed&data=rpt_"))
    headers = [h.strip().lower() for h in page.locator("#search-table thead th").all_inner_texts()]
    assert "failed reason" not in headers and headers[-1] == "matched in", headers
    matched = page.locator("#search-table tbody td.matched")
    expect(matched.first).to_have_text("data")
    page.goto(live.url("/queue/batch-jobs/search?status=failed&data=econnreset"))
    expect(page.locator("#search-table thead th", has_text="Failed reason")).to_have_count(1)
    cells = page.locator("#search-table tbody td.matched").all_inner_texts()
    assert cells and all("failed reason" in cell for cell in cells), cells
    watched.assert_clean()


@pytest.mark.parametrize("tab", ["metrics", "workers"])
def test_metrics_and_workers_keep_the_queue_tabs(
    live: LiveDashboard, open_page: Opener, tab: str
) -> None:
    """Rough edge 6: the Metrics and Workers tabs lost the queue's tab strip (Schedulers kept
    it); Metrics' "how to turn metrics on" list was centred, with a lone `})`."""
    watched = open_page(viewport=WIDE)
    page = watched.page
    page.goto(live.url(f"/queue/seed-jobs/{tab}"))
    tabs = page.locator("nav.tabs")
    expect(tabs.locator("a.tab[data-state='failed']")).to_be_visible()
    expect(tabs.locator(f"a.tab[data-state='{tab}']")).to_have_attribute("aria-current", "page")
    if tab == "metrics":
        howto = page.locator("[data-no-metrics]")
        expect(howto).to_be_visible()
        assert howto.evaluate("e => getComputedStyle(e).textAlign") in ("left", "start")
        # Each snippet is a code block laid out as written, and it fits: no line wraps, so
        # none leaves a lone `})` behind.
        blocks = howto.locator("pre").all()
        assert len(blocks) == 3
        for block in blocks:
            assert block.evaluate("b => getComputedStyle(b).whiteSpace") == "pre"
            assert block.evaluate("b => b.scrollWidth <= b.clientWidth")
        watched.screenshot("metrics-howto")
    watched.assert_clean()
