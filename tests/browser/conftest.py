"""A live dashboard on a free port, filled with the demo data, and Debian's Chromium to drive it.

The dashboard runs under uvicorn in a daemon thread and the demo data is written from a helper
thread, so nothing here depends on (or disturbs) the event loop pytest-asyncio keeps for the
session. Playwright cannot download browsers here: it always launches /usr/bin/chromium.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Playwright, sync_playwright

from dashboard.config import DEFAULT_BASE_PATH, Settings, hosts_for_bind
from dashboard.web import create_app
from tests.helpers import REBOUND_HOST, LiveDashboard, Watched, only_demo_jobs, serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Reports every Content-Security-Policy violation to the test, on every document the page loads.
# Init scripts are injected by the browser itself, so the policy does not block this one.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def live(valkey_url: str) -> Iterator[LiveDashboard]:
    only_demo_jobs(valkey_url)

    # As `drainboard serve` on loopback answers: loopback's names only.
    app = create_app(Settings(redis_url=valkey_url, allowed_hosts=hosts_for_bind("127.0.0.1")))
    with serving(app) as origin:
        httpx.get(f"{origin}{DEFAULT_BASE_PATH}/api/queues", timeout=10).raise_for_status()
        yield LiveDashboard(origin=origin, redis_url=valkey_url, app=app)


# Module scope: the sync API runs an event loop in this thread while it is open, which would
# stop the asyncio tests from running after a browser module.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def rebinding_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium for which REBOUND_HOST resolves to 127.0.0.1, as after a rebinding attack."""
    rule = f"--host-resolver-rules=MAP {REBOUND_HOST} 127.0.0.1"
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, rule])
    yield browser
    browser.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Watched]]:
    """Opens pages in fresh contexts; each records its complaints and is closed after the test."""
    contexts = []

    def opener(color_scheme: str = "light", viewport: dict | None = None) -> Watched:
        context = browser.new_context(
            color_scheme=color_scheme,  # type: ignore[arg-type]
            viewport=viewport or {"width": 1280, "height": 800},  # type: ignore[arg-type]
        )
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                watched.errors.append(f"{message.text} ({message.location.get('url')})")

        def on_dialog(dialog) -> None:
            if watched.answer is None:
                watched.dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.dismiss()
                return
            watched.answered.append(f"{dialog.type}: {dialog.message}")
            if watched.answer == "accept":
                dialog.accept()
            else:
                dialog.dismiss()

        page.expose_function("__reportCsp", lambda text: watched.csp.append(text))
        page.add_init_script(CSP_LISTENER)
        page.on("console", on_console)
        page.on("pageerror", lambda err: watched.errors.append(f"uncaught: {err}"))
        page.on("dialog", on_dialog)
        return watched

    yield opener
    for context in contexts:
        context.close()
