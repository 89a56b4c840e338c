"""Pages hide what a role cannot do: a viewer's queue page has no action at all, an operator's
no admin-only one (adding a job, managing the queue), each signed in through the form with a
user of the users file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from dashboard.access import hash_password
from dashboard.config import Settings
from dashboard.web import create_app
from tests.helpers import Watched, in_thread, make_jobs, serving

pytestmark = pytest.mark.browser

BASE = "/admin/queues"
# Anything that would change something, the sign-out button aside.
ACTIONS = (
    "[hx-post]:not([hx-post$='/logout']), [hx-delete], [hx-put], "
    "a[href$='/add'], a[href$='/manage'], input[type=checkbox], .actions-toggle"
)


@pytest.fixture(scope="module")
def origin(valkey_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    redis.Redis.from_url(valkey_url).flushall()
    in_thread(lambda: asyncio.run(make_jobs(valkey_url, "mail")))
    users: Path = tmp_path_factory.mktemp("roles") / "users.toml"
    users.write_text(
        "".join(
            f'[[user]]\nname = "{role}"\npassword = "{hash_password(role + "-pw")}"\n'
            f'grants = [{{ queues = "*", role = "{role}" }}]\n'
            for role in ("viewer", "operator")
        )
    )
    app = create_app(Settings(redis_url=valkey_url, users=str(users), secret_key="k"))
    with serving(app) as origin:
        yield origin


def sign_in(watched: Watched, origin: str, role: str, target: str) -> None:
    page = watched.page
    page.goto(f"{origin}{BASE}/login?next={BASE}{target}")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", f"{role}-pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_viewers_queue_page_has_no_action(
    origin: str, open_page: Callable[..., Watched], width: int
) -> None:
    watched = open_page(viewport={"width": width, "height": 844 if width == 390 else 800})
    sign_in(watched, origin, "viewer", "/queue/mail?status=failed")
    page = watched.page
    assert page.locator("table tbody tr").count() == 1  # the failed job is listed
    assert page.locator(ACTIONS).count() == 0
    assert page.get_by_text("Sign out").count() == 1
    watched.screenshot(f"viewer-queue-page-{width}")
    page.goto(f"{origin}{BASE}/")
    assert page.get_by_text("Drain all now").count() == 0
    watched.assert_clean()


def test_an_operators_queue_page_has_actions_but_no_admin_ones(
    origin: str, open_page: Callable[..., Watched]
) -> None:
    watched = open_page()
    sign_in(watched, origin, "operator", "/queue/mail?status=failed")
    page = watched.page
    assert page.get_by_role("button", name="Retry all 1").count() == 1
    assert page.locator("a[href$='/add'], a[href$='/manage']").count() == 0
    page.goto(f"{origin}{BASE}/queue/mail/jobs/2")
    assert page.get_by_role("button", name="Retry").count() == 1
    assert page.get_by_text("Duplicate").count() == 0 and page.get_by_text("Edit data").count() == 0
    watched.assert_clean()
