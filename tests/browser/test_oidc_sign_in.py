"""Single sign-on in Chromium: from the dashboard's sign-in page through the OpenID provider's
own login and consent pages (npm's oidc-provider) and back, signed in; then out again."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from dashboard.web import create_app
from tests.helpers import Watched, free_port, openid_provider, serving, sso_settings

pytestmark = [pytest.mark.browser, pytest.mark.interop]

BASE = "/admin/queues"


@pytest.fixture(scope="module")
def origin(valkey_url: str) -> Iterator[str]:
    port = free_port()
    settings = sso_settings(valkey_url, port)
    with (
        serving(create_app(settings)) as origin,
        openid_provider(port, f"{origin}{BASE}/login/oidc/callback"),
    ):
        yield origin


def test_sign_in_through_the_provider_and_out(
    origin: str, open_page: Callable[..., Watched]
) -> None:
    watched = open_page()
    page = watched.page
    page.goto(f"{origin}{BASE}/redis")
    expect(page.get_by_role("heading", name="Sign in to Drainboard")).to_be_visible()
    # Single sign-on only: no password form to fill.
    expect(page.locator("input[type=password]")).to_have_count(0)
    watched.screenshot("sso-dashboard-sign-in")
    page.get_by_role("link", name="Sign in with single sign-on").click()

    page.locator("input[name=login]").fill("alice")
    page.locator("input[name=password]").fill("any")
    watched.screenshot("sso-provider-login")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()  # the provider's consent page: Continue

    page.wait_for_url(f"{origin}{BASE}/redis")
    # The provider's own pages ask for a web font and a favicon it does not have: not ours.
    watched.errors.clear()
    expect(page.locator("header")).to_contain_text("alice@example.com")
    watched.screenshot("sso-signed-in")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{origin}{BASE}/login**")
    page.goto(f"{origin}{BASE}/redis")
    expect(page.get_by_role("heading", name="Sign in to Drainboard")).to_be_visible()
    watched.assert_clean()
