"""The queue switcher, --hide and the settings page, on real servers."""

from __future__ import annotations

import re

import pytest
from bullmq import Queue

from dashboard.config import ConfigError, Settings
from tests.helpers import make_client, make_jobs

BEARER = {"Authorization": "Bearer s3cret"}


def footer_cost(html: str) -> int:
    match = re.search(r"This page cost ([\d,]+) Redis command", html)
    assert match, "no cost in the footer"
    return int(match.group(1).replace(",", ""))


async def test_switcher_lists_and_groups_queues_for_free(server_url: str) -> None:
    for name in ("billing.invoices", "billing.refunds", "mail"):
        await make_jobs(server_url, name)
    settings = Settings(redis_url=server_url, group_delimiter=".")
    async with make_client(settings) as http:
        page = await http.get("/admin/queues/queue/billing.refunds")
        assert page.status_code == 200
        nav = page.text[page.text.index('<nav class="switcher"') :]
        nav = nav[: nav.index("</nav>")]
        assert nav.count("<li ") == 3
        assert nav.index('data-group="billing"') > nav.index(">mail</a>")  # ungrouped first
        assert 'aria-current="page">refunds</a>' in nav
    # The switcher reads nothing: the settings page lists every queue in it and costs 0. (Under
    # the test transport requests share this task's context, so the counter is reset first.)
    # Named queues: the test transport runs no lifespan, so nothing else would load the names.
    named = Settings(redis_url=server_url, queues=("billing.invoices", "billing.refunds", "mail"))
    async with make_client(named) as http:
        await http.get("/admin/queues/settings")  # the app's one-offs: a connection, a GET
        settings_page = await http.get("/admin/queues/settings")
        assert settings_page.status_code == 200 and footer_cost(settings_page.text) == 0
        assert 'class="browser-settings' in settings_page.text
        assert settings_page.text.count('<li data-name="') == 3


async def test_no_switcher_before_sign_in(server_url: str) -> None:
    await make_jobs(server_url, "secret-queue")
    settings = Settings(redis_url=server_url, username="u", password="p")
    async with make_client(settings) as http:
        login = await http.get("/admin/queues/login")
        assert login.status_code == 200 and "secret-queue" not in login.text


async def test_hidden_queues_are_never_shown(server_url: str) -> None:
    ids = await make_jobs(server_url, "mail")
    await make_jobs(server_url, "tmp-1")
    await make_jobs(server_url, "tmp-2")
    settings = Settings(redis_url=server_url, token="s3cret", hide=("tmp-*",))
    async with make_client(settings) as http:
        queues = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
        assert [q["name"] for q in queues] == ["mail"]
        for path in (
            "/admin/queues/api/queues/tmp-1/jobs",
            f"/admin/queues/api/queues/tmp-1/jobs/{ids['failed']}",
            "/admin/queues/queue/tmp-2",
        ):
            assert (await http.get(path, headers=BEARER)).status_code == 404, path
        found = (
            await http.get(f"/admin/queues/api/search?id={ids['failed']}", headers=BEARER)
        ).json()
        assert [hit["queue"] for hit in found["jobs"]] == ["mail"]
        paused = await http.post("/admin/queues/api/pause-all", headers=BEARER)
        assert paused.json()["count"] == 1
        assert await Queue("tmp-1", {"connection": server_url}).isPaused() is False
        page = await http.get("/admin/queues/", headers=BEARER)
        assert "tmp-1" not in page.text and "tmp-2" not in page.text
    fixed = Settings(
        redis_url=server_url, token="s3cret", queues=("mail", "tmp-1"), hide=("tmp-*",)
    )
    async with make_client(fixed) as http:
        queues = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
        assert [q["name"] for q in queues] == ["mail"]


def test_group_delimiter_and_hide_settings() -> None:
    assert Settings.from_env({"DRAINBOARD_GROUP_DELIMITER": "."}).group_delimiter == "."
    assert Settings.from_env({"DRAINBOARD_HIDE": "a*, b"}).hide == ("a*", "b")
    for bad in (":", "a:b", "x" * 9):
        with pytest.raises(ConfigError):
            Settings.from_env({}, group_delimiter=bad)
