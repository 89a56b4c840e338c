"""The longest language (German) and one written without spaces (Japanese): the overview, a
queue page, a job page and the wordiest pages (manage, schedulers, settings, cost) at 1280 and
390 px fit their width, no button's label is clipped, and axe finds nothing serious or
critical. The overviews are saved as screenshots."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import LiveDashboard, Watched, axe_violations, fits

pytestmark = pytest.mark.browser

Opener = Callable[..., Watched]
QUEUE = "batch-jobs"
SIZES = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
# A word of each language's overview, so a page that fell back to English fails.
WORDS = {"de": "Alle jetzt leeren", "ja": "すべて今すぐドレイン"}

# Buttons whose label does not fit in them, or that stick out of the window (but for those in a
# strip that scrolls sideways on purpose, as the state tabs do on a phone).
CLIPPED = """() => {
  const scrolls = e => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  return [...document.querySelectorAll("button, .button, .tab, .badge")]
    .filter(e => e.getClientRects().length && !e.closest("details:not([open])"))
    .filter(e => e.scrollWidth > e.clientWidth + 1
      || (e.getBoundingClientRect().right > window.innerWidth + 0.5 && !scrolls(e)))
    .map(e => `${e.outerHTML.slice(0, 100)} (${e.scrollWidth} > ${e.clientWidth})`);
}"""


def checked(page: Page, keyboard: bool = True) -> None:
    """Fits its width (and, for the triage views, every control takes focus: fits()), no label is
    clipped, axe is clean. Form pages skip the focus check, whose htmx rule reads an hx-post form
    as a control."""
    if keyboard:
        fits(page)
    else:
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(CLIPPED) == []
    assert axe_violations(page) == []


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", list(WORDS))
def test_pages_fit_in_the_longest_languages(
    live: LiveDashboard, open_page: Opener, lang: str, size: str
) -> None:
    watched = open_page(viewport=SIZES[size])
    page = watched.page
    page.set_extra_http_headers({"Accept-Language": lang})
    page.goto(live.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_text(WORDS[lang])).to_be_visible()
    checked(page)
    watched.screenshot(f"overview-{lang}-{size}")
    page.goto(live.url(f"/queue/{QUEUE}?status=failed"))
    checked(page)
    failed = live.api(f"/queues/{QUEUE}/jobs?status=failed&pageSize=1")["jobs"][0]["id"]
    page.goto(live.url(f"/queue/{QUEUE}/jobs/{quote(failed, safe='')}"))
    checked(page)
    # The pages with the most words: the manage page, the schedulers, settings, the cost panel.
    for path in (f"/queue/{QUEUE}/manage", f"/queue/{QUEUE}/schedulers", "/settings", "/cost"):
        page.goto(live.url(path))
        checked(page, keyboard=False)
    watched.assert_clean()


def test_the_scripts_speak_the_pages_language(live: LiveDashboard, open_page: Opener) -> None:
    """What select.js and forms.js write (the selection count, its confirmation, the JSON
    check) comes from the page, in its language."""
    watched = open_page()
    page = watched.page
    page.set_extra_http_headers({"Accept-Language": "de"})
    page.goto(live.url(f"/queue/{QUEUE}?status=failed"))
    boxes = page.locator("table.jobs tbody tr[data-job-id] td.pick input")
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.locator("#selection-count")).to_have_text("2 ausgewählt")
    watched.answer = "dismiss"
    page.get_by_role("button", name="Ausgewählte entfernen").click()
    assert watched.answered == [
        f"confirm: Die 2 ausgewählten Jobs von {QUEUE} entfernen? "
        "Das lässt sich nicht rückgängig machen."
    ]
    page.goto(live.url(f"/queue/{QUEUE}/add"))
    page.locator("textarea[name=data]").fill('{"a": ')
    expect(page.locator("#data-check")).to_contain_text("Kein gültiges JSON")
    page.locator("textarea[name=data]").fill('{"a": 1}')
    expect(page.locator("#data-check")).to_have_text("Gültiges JSON.")
    watched.assert_clean()


def test_the_settings_picker_switches_the_language(live: LiveDashboard, open_page: Opener) -> None:
    """The picker overrides the browser's Accept-Language, for every page after it, until
    "As the browser asks" hands the choice back."""
    watched = open_page()
    page = watched.page
    page.set_extra_http_headers({"Accept-Language": "de"})
    page.goto(live.url("/settings"))
    page.get_by_label("Sprache").select_option("ja")
    page.get_by_role("button", name="Diese Sprache verwenden").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("button", name="この言語を使う")).to_be_visible()
    page.goto(live.url("/"))
    expect(page.get_by_text("すべて今すぐドレイン")).to_be_visible()
    page.goto(live.url("/settings"))
    page.get_by_label("言語").select_option("")
    page.get_by_role("button", name="この言語を使う").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    watched.assert_clean()
