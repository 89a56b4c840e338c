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
SIZES = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}


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


# Every control a page shows (links, buttons, fields, menus' summaries, anything given a
# tabindex), each with a key (radios by group: Tab enters a group once, arrows move within it)
# and its look unfocused: it and its three nearest ancestors' outline, shadow, colours.
CONTROLS = """() => {
  const look = e => {
    const out = [];
    for (let n = e, i = 0; n && n !== document.body && i < 4; n = n.parentElement, i++) {
      const s = getComputedStyle(n);
      out.push(s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor,
               s.borderColor, s.textDecorationLine, s.color);
    }
    return out.join("|");
  };
  const native = "a[href], button, input:not([type=hidden]), select, textarea, summary";
  // Inside a closed <details> (but not its own summary), a control is not shown, whatever
  // boxes Chromium still gives it.
  const folded = e => {
    for (let d = e.closest("details:not([open])"); d;
         d = d.parentElement && d.parentElement.closest("details:not([open])")) {
      const summary = d.querySelector(":scope > summary");
      if (!summary || !summary.contains(e)) return true;
    }
    return false;
  };
  const shown = e => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden"
    && !folded(e);
  const controls = [...document.querySelectorAll(`${native}, [tabindex]`)]
    .filter(e => !e.disabled && shown(e) && (e.matches(native) || e.tabIndex >= 0));
  const kb = {look, keys: new Map(), before: new Map()};
  controls.forEach((e, n) => {
    const key = e.type === "radio" && e.name ? `radio group ${e.name}`
      : `${n}: ${e.outerHTML.slice(0, 110)}`;
    kb.keys.set(e, key);
    kb.before.set(e, look(e));
  });
  window.__kb = kb;
  return [...new Set(kb.keys.values())];
}"""

# The focused control's key (null for none of them), and whether it shows its focus: it
# matches :focus-visible and it or an ancestor looks different from before.
FOCUSED = """() => {
  const e = document.activeElement, kb = window.__kb;
  if (!e || !kb.keys.has(e)) return null;
  return [kb.keys.get(e), e.matches(":focus-visible") && kb.look(e) !== kb.before.get(e)];
}"""


@pytest.mark.parametrize("size", list(SIZES))
def test_every_control_on_every_page_takes_focus_from_tab(
    live: LiveDashboard, open_page: Opener, size: str
) -> None:
    """On every page axe checks, on a desktop and a phone: Tab, pressed until focus comes round
    again, reaches every control the page shows, and each shows that it has focus."""
    watched = open_page(viewport=SIZES[size])
    page = watched.page
    problems: dict[str, list[str]] = {}
    for path in pages(live):
        page.goto(live.url(path))
        # Whatever loads when scrolled into view is loaded first.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        page.evaluate("window.scrollTo(0, 0)")
        controls = page.evaluate(CONTROLS)
        shown: dict[str, bool] = {}
        first = None
        for _ in range(2 * len(controls) + 40):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            if focused is None:
                continue
            key, visible = focused
            if key == first:
                break
            first = first or key
            shown[key] = shown.get(key, False) or visible
        missed = [f"not reached: {key}" for key in controls if key not in shown]
        unseen = [f"no visible focus: {key}" for key, visible in shown.items() if not visible]
        if missed or unseen:
            problems[path] = missed + unseen
    assert problems == {}, json.dumps(problems, indent=1)
    watched.assert_clean()
