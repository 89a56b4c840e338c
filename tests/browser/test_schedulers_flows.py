"""The Schedulers tab and the flow panel in a real browser, in light, dark and at 390 px.

The demo brings seed 004's two job schedulers (batch-jobs). On top of it this module adds a flow:
`assemble-report` (dsar-jobs) with children in batch-jobs, one completed, one failed with
ignoreDependencyOnFailure, one delayed, and `bundle` (dsar-jobs), itself the parent of a delayed
`leaf`; and `fan-out`, a parent of 25 delayed children, for the "More children" link. The
children to finish are added LIFO, so a manual worker takes them before the demo's waiting jobs.
Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from bullmq import FlowProducer, Worker
from playwright.sync_api import Page, expect

from dashboard import demo
from tests.helpers import LiveDashboard, Watched, in_thread

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
HOUR = 3_600_000
PARENT_QUEUE, CHILD_QUEUE = "dsar-jobs", "batch-jobs"
PHONE = {"width": 390, "height": 844}
# Elements of the page's content sticking out of the viewport on the right (the top bar is the
# layout's own business).
WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll("#content *")]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""))"""


def child(job_id: str, **opts: object) -> dict[str, object]:
    return {"name": job_id, "queueName": CHILD_QUEUE, "opts": {"jobId": job_id, **opts}}


async def _add_flows(url: str) -> None:
    flows = FlowProducer({"connection": url})
    await flows.add(
        {
            "name": "assemble-report",
            "queueName": PARENT_QUEUE,
            "opts": {"jobId": "report-root"},
            "children": [
                {
                    "name": "fetch",
                    "queueName": CHILD_QUEUE,
                    "opts": {"jobId": "fetch", "lifo": True},
                },
                child("parse", lifo=True, ignoreDependencyOnFailure=True),
                {
                    "name": "later",
                    "queueName": CHILD_QUEUE,
                    "opts": {"jobId": "later", "delay": HOUR},
                },
                {
                    "name": "bundle",
                    "queueName": PARENT_QUEUE,
                    "opts": {"jobId": "bundle"},
                    "children": [
                        {
                            "name": "leaf",
                            "queueName": CHILD_QUEUE,
                            "opts": {"jobId": "leaf", "delay": HOUR},
                        }
                    ],
                },
            ],
        }
    )
    await flows.add(
        {
            "name": "fan-out",
            "queueName": PARENT_QUEUE,
            "opts": {"jobId": "fan-out"},
            "children": [
                {"name": "part", "queueName": CHILD_QUEUE, "opts": {"delay": HOUR}}
                for _ in range(25)
            ],
        }
    )
    await flows.close()
    worker = Worker(CHILD_QUEUE, None, {"connection": url, "autorun": False})
    token = uuid.uuid4().hex
    for _ in range(2):
        job = await worker.getNextJob(token)
        assert job is not None and job.id in ("fetch", "parse"), job and job.id
        if job.id == "parse":
            await job.moveToFailed(RuntimeError("could not parse the export"), token)
        else:
            await job.moveToCompleted({"rows": 120}, token)
    await worker.close(force=True)


@pytest.fixture(scope="module")
def board(live: LiveDashboard) -> Iterator[LiveDashboard]:
    in_thread(lambda: asyncio.run(_add_flows(live.redis_url)))
    yield live


def ready(page: Page) -> None:
    page.wait_for_function("() => window.htmx !== undefined")


@pytest.mark.parametrize("scheme", ["light", "dark", "phone"])
def test_schedulers_tab(board: LiveDashboard, open_page: Opener, scheme: str) -> None:
    api = board.api(f"/queues/{demo.SCHEDULER_QUEUE}/schedulers")
    assert api["total"] == len(demo.DEMO_SCHEDULERS)
    watched = open_page("dark" if scheme == "dark" else "light")
    page = watched.page
    if scheme == "phone":
        page.set_viewport_size(PHONE)
    page.goto(board.url(f"/queue/{demo.SCHEDULER_QUEUE}"))
    tab = page.locator('a.tab[data-state="schedulers"]')
    expect(tab.locator(".pill")).to_have_text(str(api["total"]))
    tab.click()
    expect(page).to_have_url(re.compile(r"/schedulers$"))
    rows = page.locator("table.schedulers tbody tr")
    expect(rows).to_have_count(api["total"])
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.schedulerId)") == [
        s["id"] for s in api["schedulers"]
    ]
    rollup = page.locator('tr[data-scheduler-id="nightly-analytics-rollup"]')
    expect(rollup).to_contain_text("0 2 * * *")
    expect(rollup).to_contain_text("At 02:00 AM")
    expect(rollup).to_contain_text("UTC")
    expect(rollup.get_by_role("link", name="pending job")).to_be_visible()
    expect(rollup.get_by_role("button", name="Run now")).to_be_visible()
    watched.screenshot(f"schedulers-{scheme}")
    if scheme == "phone":  # the table scrolls inside its frame; the page itself does not
        wide = page.evaluate(WIDER_THAN_VIEWPORT)
        assert wide == [], wide
    watched.assert_clean()


def test_overview_shows_scheduler_counts(board: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(board.url("/"))
    card = page.locator(f'article.queue-card[data-queue="{demo.SCHEDULER_QUEUE}"]')
    expect(card.locator("a.sched-count")).to_have_text(f"{len(demo.DEMO_SCHEDULERS)} schedulers")
    expect(page.locator("a.sched-count")).to_have_count(1)
    watched.assert_clean()


@pytest.mark.parametrize("scheme", ["light", "dark", "phone"])
def test_flow_panel_on_the_job_page(board: LiveDashboard, open_page: Opener, scheme: str) -> None:
    level = board.api(f"/queues/{PARENT_QUEUE}/jobs/report-root/flow")
    watched = open_page("dark" if scheme == "dark" else "light")
    page = watched.page
    if scheme == "phone":
        page.set_viewport_size(PHONE)
    page.goto(board.url(f"/queue/{PARENT_QUEUE}/jobs/report-root"))
    ready(page)
    panel = page.locator("section#flow")
    expect(panel).to_be_visible()
    for group, n in level["counts"].items():
        expect(panel.locator(f'.flow-counts [data-group="{group}"]')).to_have_text(f"{n} {group}")
    children = panel.locator(":scope > ul > li.flow-child")
    expect(children).to_have_count(len(level["children"]))
    for child in level["children"]:
        row = panel.locator(f'li.flow-child[data-job-id="{child["id"]}"]').first
        expect(row.locator(".badge.state")).to_have_attribute("data-state", child["state"])
    expect(panel.locator("li.flow-group")).to_have_text(["Processed", "Pending", "Ignored"])

    bundle = panel.locator('li.flow-child[data-job-id="bundle"]')
    bundle.get_by_role("button", name="Show the children of bundle").click()
    leaf = bundle.locator('li.flow-child[data-job-id="leaf"]')
    expect(leaf).to_be_visible()
    expect(leaf.locator(".badge.state")).to_have_attribute("data-state", "delayed")
    watched.screenshot(f"flow-{scheme}")

    leaf.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/queue/{CHILD_QUEUE}/jobs/leaf$"))
    expect(page.locator("section#flow a.parent-link")).to_have_text(
        re.compile(rf"{PARENT_QUEUE} · #bundle")
    )
    watched.assert_clean()


def test_more_children_and_done_counts(board: LiveDashboard, open_page: Opener) -> None:
    watched = open_page()
    page = watched.page
    page.goto(board.url(f"/queue/{PARENT_QUEUE}/jobs/fan-out"))
    ready(page)
    rows = page.locator("section#flow li.flow-child")
    expect(rows).to_have_count(20)
    page.get_by_role("button", name="More children").click()
    expect(rows).to_have_count(25)
    expect(page.get_by_role("button", name="More children")).to_have_count(0)
    ids = rows.evaluate_all("rs => rs.map(r => r.dataset.jobId)")
    assert len(set(ids)) == 25

    page.goto(board.url(f"/queue/{PARENT_QUEUE}?status=waiting-children"))
    expect(page.locator('tr[data-job-id="report-root"] .children-done')).to_have_text(
        "2 of 4 children done"
    )
    expect(page.locator('tr[data-job-id="fan-out"] .children-done')).to_have_text(
        "0 of 25 children done"
    )
    watched.assert_clean()


def test_run_now_and_remove(board: LiveDashboard, open_page: Opener) -> None:
    queue = demo.SCHEDULER_QUEUE
    [credit] = [
        s
        for s in board.api(f"/queues/{queue}/schedulers")["schedulers"]
        if s["id"] == "monthly-credit-grant"
    ]
    pending = f"repeat:monthly-credit-grant:{credit['next']}"
    assert board.api(f"/queues/{queue}/jobs/{pending}")["state"] == "delayed"

    watched = open_page()
    page = watched.page
    page.goto(board.url(f"/queue/{queue}/schedulers"))
    ready(page)
    watched.answer = "accept"
    row = page.locator('tr[data-scheduler-id="monthly-credit-grant"]')
    row.get_by_role("button", name="Run now").click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("runs as soon as")
    assert board.api(f"/queues/{queue}/jobs/{pending}")["state"] == "waiting"
    expect(row.get_by_role("button", name="Run now")).to_have_count(0)  # nothing pending now

    row.get_by_role("button", name="Remove").click()
    expect(page.locator("#notices .notice-line.ok")).to_contain_text("removed")
    expect(page.locator('tr[data-scheduler-id="monthly-credit-grant"]')).to_have_count(0)
    assert [s["id"] for s in board.api(f"/queues/{queue}/schedulers")["schedulers"]] == [
        "nightly-analytics-rollup"
    ]
    assert watched.answered[0].startswith("confirm: Run scheduler monthly-credit-grant now?")
    assert watched.answered[1].startswith("confirm: Remove scheduler monthly-credit-grant")
    watched.assert_clean()
