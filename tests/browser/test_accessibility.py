"""Accessibility, checked by axe-core (npm, pinned in tests/interop) on every page, light and dark.

axe-core is evaluated through the DevTools protocol, which the page's Content-Security-Policy
does not govern, so the pages are checked exactly as served. Each page is checked after htmx has
loaded its fragments (the throughput and drain charts, the cost figures, a job's flow), so the
fragments are checked inside the pages that show them. A serious or critical violation fails;
colour contrast (WCAG AA, 4.5:1 for small text) is among the rules axe runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from dashboard import demo
from dashboard.config import Settings, hosts_for_bind
from dashboard.web import create_app
from dashboard.web.render import STATE_ORDER
from tests.helpers import SCREENSHOTS, LiveDashboard, Watched, axe_violations, serving

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
SCHEMES = ("light", "dark")
REPORTS = SCREENSHOTS.parent
QUEUE = "batch-jobs"  # every state has jobs, and the schedulers live here


def pages(live: LiveDashboard) -> list[str]:
    q = quote(QUEUE, safe="")
    failed = live.api(f"/queues/{QUEUE}/jobs?status=failed&pageSize=1")["jobs"][0]["id"]
    return [
        "/",
        *(f"/queue/{q}?status={state}" for state in STATE_ORDER),
        f"/queue/{quote(demo.PAUSED_QUEUE, safe='')}",
        f"/queue/{q}/jobs/{quote(failed, safe='')}",
        f"/queue/{q}/add",
        f"/queue/{q}/manage",
        f"/queue/{q}/schedulers",
        f"/queue/{q}/metrics",
        f"/queue/{q}/workers",
        f"/queue/{q}/search?status=failed&q=error",
        "/search?id=1",
        "/workers",
        "/redis",
        "/cost",
        "/drains",
        "/alerts",
        "/audit",
        "/settings",
    ]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_page_passes_axe(live: LiveDashboard, open_page: Opener, scheme: str) -> None:
    watched = open_page(color_scheme=scheme)
    problems = {}
    checked = 0
    for path in pages(live):
        watched.page.goto(live.url(path))
        found = axe_violations(watched.page)
        checked += 1
        if found:
            problems[path] = found
    # The whole list, for the record: the assertion message below is cut by pytest.
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"axe-{scheme}.json").write_text(json.dumps(problems, indent=1))
    assert checked >= 20
    assert problems == {}, problems
    watched.assert_clean()


@pytest.fixture(scope="module")
def signed_in_origin(live: LiveDashboard) -> Iterator[str]:
    settings = Settings(
        redis_url=live.redis_url,
        allowed_hosts=hosts_for_bind("127.0.0.1"),
        username="admin",
        password="a-long-test-password",
    )
    with serving(create_app(settings)) as origin:
        yield origin


@pytest.mark.parametrize("scheme", SCHEMES)
def test_login_page_passes_axe(
    live: LiveDashboard, signed_in_origin: str, open_page: Opener, scheme: str
) -> None:
    watched = open_page(color_scheme=scheme)
    watched.page.goto(f"{signed_in_origin}{live.base}/login")
    assert watched.page.locator("input[type=password]").count() == 1
    assert axe_violations(watched.page) == []
    # A failed sign-in shows its message: checked too.
    watched.page.fill("input[name=username]", "admin")
    watched.page.fill("input[type=password]", "wrong")
    watched.page.locator("form button[type=submit], form input[type=submit]").first.click()
    watched.page.wait_for_load_state()
    assert axe_violations(watched.page) == []


def test_keyboard_opens_a_count_tile(live: LiveDashboard, open_page: Opener) -> None:
    """Tab reaches the overview's "Failed" tile and Enter opens the failed list."""
    watched = open_page()
    page = watched.page
    page.goto(live.url("/"))
    target = f'article.queue-card[data-queue="{QUEUE}"] .count[data-state="failed"] a'
    for _ in range(300):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector('{target}')"):
            break
    else:
        pytest.fail("Tab never reached the Failed tile")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/queue/{QUEUE}?status=failed")
    watched.assert_clean()
