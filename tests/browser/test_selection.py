"""Select and act on the queue page: tick rows (by mouse or the x key), or the whole page, and
retry the selected; Node BullMQ and Redis then say where the jobs went. Its own live dashboard
(module-scoped), since the tests change it."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
import redis
from playwright.sync_api import expect

from tests.helpers import LiveDashboard, Watched, axe_violations, node_json

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
QUEUE = "dsar-jobs"


def node_counts(live: LiveDashboard, *command: str) -> dict[str, int]:
    """Node BullMQ 6's getJobCounts for the queue, after `command` (work.mjs)."""
    node = shutil.which("node")
    assert node, "the browser tests need Node.js on PATH (make test)"
    return node_json(node, "work.mjs", "6", live.redis_url, QUEUE, *command)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_select_rows_and_retry_them(live: LiveDashboard, open_page: Opener, scheme: str) -> None:
    node_counts(live, "fail", "3")  # failed jobs made by Node's own Worker
    before = node_counts(live, "counts")
    watched = open_page(color_scheme=scheme)
    page = watched.page
    page.goto(live.url(f"/queue/{QUEUE}?status=failed"))
    expect(page.locator("#keys-hint")).to_contain_text("x selects it")
    rows = page.locator("table.jobs tbody tr[data-job-id]")
    ids = rows.evaluate_all("rs => rs.map(r => r.dataset.jobId)")
    assert len(ids) >= 3
    count = page.locator("#selection-count")
    retry = page.get_by_role("button", name="Retry selected")
    expect(count).to_have_text("No job selected")
    expect(retry).to_be_disabled()

    # "Select this page" ticks every row, and unticks them.
    whole = page.get_by_role("checkbox", name=f"Select this page's {len(ids)} jobs")
    whole.check()
    expect(count).to_have_text(f"{len(ids)} selected")
    assert all(box.is_checked() for box in rows.locator("td.pick input").all())
    whole.uncheck()
    expect(count).to_have_text("No job selected")

    # From the keyboard: j to a row, x to tick it.
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(count).to_have_text("2 selected")
    assert whole.evaluate("b => b.indeterminate")
    expect(retry).to_be_enabled()
    watched.screenshot(f"selection-bar-{scheme}")
    assert axe_violations(page) == []

    watched.answer = "accept"
    retry.click()
    expect(page.locator("#notices .notice-line.ok")).to_have_text("Retried 2 selected jobs.")
    assert watched.answered == [f"confirm: Retry the 2 selected jobs of {QUEUE}?"]
    expect(count).to_have_text("No job selected")

    after = node_counts(live, "counts")
    assert after["failed"] == before["failed"] - 2
    client = redis.Redis.from_url(live.redis_url, decode_responses=True)
    try:
        for job_id in ids[:2]:
            assert client.zscore(f"bull:{QUEUE}:failed", job_id) is None
            assert client.lpos(f"bull:{QUEUE}:wait", job_id) is not None
        assert client.zscore(f"bull:{QUEUE}:failed", ids[2]) is not None
    finally:
        client.close()

    # On a phone the bar and the checkboxes stay in reach.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator("table.jobs tbody td.pick input").first.check()
    expect(count).to_have_text("1 selected")
    watched.screenshot(f"selection-bar-phone-{scheme}", full_page=False)
    watched.assert_clean()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_disabled_action_looks_disabled_on_a_phone(
    live: LiveDashboard, open_page: Opener, scheme: str
) -> None:
    """Before a row is ticked, "Retry selected" has neither the accent's fill nor its white
    text; ticking one gives them back; axe finds nothing either way."""
    node_counts(live, "fail", "1")
    watched = open_page(color_scheme=scheme, viewport={"width": 390, "height": 844})
    page = watched.page
    page.goto(live.url(f"/queue/{QUEUE}?status=failed"))
    retry = page.get_by_role("button", name="Retry selected")
    expect(retry).to_be_disabled()

    def look() -> tuple[str, str, str]:
        return retry.evaluate(
            "b => { const s = getComputedStyle(b); return [s.backgroundColor, s.color, s.cursor]; }"
        )

    def accent() -> str:
        return page.evaluate(
            "() => { const b = document.createElement('button'); b.className = 'button';"
            " document.body.append(b); const c = getComputedStyle(b).backgroundColor;"
            " b.remove(); return c; }"
        )

    disabled = look()
    assert axe_violations(page) == []
    watched.screenshot(f"selection-disabled-phone-{scheme}", full_page=False)
    page.locator("table.jobs tbody td.pick input").first.check()
    expect(retry).to_be_enabled()
    enabled = look()
    assert enabled[0] == accent()
    assert disabled[0] != enabled[0] and disabled[1] != enabled[1], (disabled, enabled)
    assert disabled[2] == "not-allowed"
    assert axe_violations(page) == []
    watched.assert_clean()
