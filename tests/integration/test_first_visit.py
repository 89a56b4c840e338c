"""The rough edges of a first visit, on real servers: error pages under the base path, the login
page without credentials, a page past the last, progress and duration, the footer's open-tab
cost, and Remove from a job's own page."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
from bullmq import Queue, Worker
from starlette.applications import Starlette
from starlette.routing import Mount

from dashboard.config import Settings
from dashboard.web import create_app
from tests.helpers import csrf_token, make_client, make_jobs

STYLE = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
HOME = re.compile(r'<a class="button" href="([^"]+)">Back to all queues</a>')


async def _error_page_links(http: httpx.AsyncClient, path: str) -> tuple[str, str]:
    page = await http.get(path)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    style, home = STYLE.search(page.text), HOME.search(page.text)
    assert style and home, page.text
    css = await http.get(style.group(1))
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    return style.group(1), home.group(1)


async def test_error_pages_link_the_base_path(server_url: str) -> None:
    await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url)) as http:
        for path in ("/nope", "/admin/queues/nope", "/admin/queues/queue/nope"):
            assert await _error_page_links(http, path) == (
                "/admin/queues/static/style.css",
                "/admin/queues/",
            )
    async with make_client(Settings(redis_url=server_url, base_path="")) as http:
        assert await _error_page_links(http, "/nope") == ("/static/style.css", "/")


async def test_error_pages_of_a_mounted_dashboard_link_the_mount_point(server_url: str) -> None:
    await make_jobs(server_url)
    host = Starlette(
        routes=[Mount("/ops/board", app=create_app(Settings(redis_url=server_url, base_path="")))]
    )
    transport = httpx.ASGITransport(app=host, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as http:
        for path in ("/ops/board/nope", "/ops/board/queue/nope/jobs/1"):
            assert await _error_page_links(http, path) == (
                "/ops/board/static/style.css",
                "/ops/board/",
            )


async def test_login_without_credentials_goes_to_the_dashboard(client: httpx.AsyncClient) -> None:
    page = await client.get("/admin/queues/login", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/queues/"
    posted = await client.post(
        "/admin/queues/login", data={"username": "x", "password": "y"}, follow_redirects=False
    )
    assert posted.status_code in (303, 403)  # never a sign-in form that rejects everyone


async def test_login_with_credentials_still_shows_the_form(server_url: str) -> None:
    settings = Settings(redis_url=server_url, username="ada", password="pw")
    async with make_client(settings) as http:
        page = await http.get("/admin/queues/login")
        assert page.status_code == 200 and 'name="password"' in page.text


async def test_a_page_past_the_last_shows_the_last(
    client: httpx.AsyncClient, server_url: str
) -> None:
    queue = Queue("mail", {"connection": server_url})
    for n in range(3):
        await queue.add("welcome", {"n": n})
    await queue.close()
    path = "/admin/queues/queue/mail?status=waiting&pageSize=1&page=99"
    page = await client.get(path, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/admin/queues/queue/mail?status=waiting&pageSize=1&page=3"
    last = await client.get(path, follow_redirects=True)
    assert last.status_code == 200 and "Page 3 of 3" in last.text and "Page 99" not in last.text


async def test_progress_in_a_list_shows_its_number_and_the_job_page_a_duration(
    client: httpx.AsyncClient, server_url: str
) -> None:
    ids = await make_jobs(server_url)
    opts = {"connection": server_url}
    queue, worker = Queue("mail", opts), Worker("mail", None, {**opts, "autorun": False})
    await queue.add("resize", {"n": 1}, {"priority": 1})
    running = await worker.getNextJob(uuid.uuid4().hex)
    await running.updateProgress(42)
    await worker.close(force=True)
    await queue.close()

    active = await client.get("/admin/queues/queue/mail?status=active")
    assert re.search(
        r'<progress max="100" value="42"[^>]*></progress><span[^>]*>42%</span>', active.text
    )
    done = await client.get(f"/admin/queues/queue/mail/jobs/{ids['completed']}")
    duration = re.search(r"<span data-duration>([^<]+)</span>", done.text)
    assert duration and re.fullmatch(r"\d+(\.\d)? m?s", duration.group(1)), duration
    assert "processed to finished" in done.text
    ongoing = await client.get(f"/admin/queues/queue/mail/jobs/{running.id}")
    assert "running so far" in ongoing.text


async def test_the_footer_reports_the_rate_not_the_page_loads(server_url: str) -> None:
    """Every page load opens the live stream, which (re)starts the shared watcher; what the
    watcher spends starting is not a monthly rate. Idle, an open tab costs one XREAD a minute."""
    await make_jobs(server_url)
    app = create_app(Settings(redis_url=server_url))
    watcher = app.state.board.watcher
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        figures = []
        for _ in range(4):
            page = await http.get("/admin/queues/")
            figures.append(re.search(r"Leaving it open: about ([\d,]+) commands", page.text)[1])
            spent = watcher.commands_per_minute()
            async with watcher.subscribe():  # what the page's live stream does
                for _ in range(250):
                    if watcher.commands_per_minute() > spent:
                        break
                    await asyncio.sleep(0.02)
        assert watcher.commands_per_minute() >= 8  # 4 starts, each an XREVRANGE and an XREAD
    assert figures == ["43,200"] * 4


async def test_remove_on_the_job_page_returns_to_the_queue_with_a_notice(
    client: httpx.AsyncClient, server_url: str
) -> None:
    ids = await make_jobs(server_url)
    token = await csrf_token(client)
    job_url = f"/admin/queues/queue/mail/jobs/{ids['failed']}"
    removed = await client.delete(
        f"{job_url}?status=failed", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert removed.status_code == 200
    target = removed.headers["HX-Redirect"]
    assert target == f"/admin/queues/queue/mail?status=failed&removed={ids['failed']}"
    page = await client.get(target)
    assert f"Job {ids['failed']} removed." in page.text
    assert (await client.get(job_url)).status_code == 404
    again = await client.delete(
        f"{job_url}?status=failed", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert again.status_code == 404 and "HX-Redirect" not in again.headers


async def test_remove_on_the_job_page_is_refused_when_read_only(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url, read_only=True)) as http:
        token = await csrf_token(http)
        refused = await http.delete(
            f"/admin/queues/queue/mail/jobs/{ids['failed']}",
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
        assert refused.status_code == 403
        assert (await http.get(f"/admin/queues/queue/mail/jobs/{ids['failed']}")).status_code == 200
