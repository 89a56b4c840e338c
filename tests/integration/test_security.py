"""Authentication, CSRF, headers and the start-up refusal."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
import redis.asyncio as aioredis

from dashboard.cli import refuse_open_binding
from dashboard.config import Settings
from tests.helpers import csrf_token, free_port, make_client, make_jobs

PAUSE = "/admin/queues/api/queues/mail/pause"
# What a browser adds to a same-origin fetch: it is these that make a request a browser's.
BROWSER = {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}


async def is_paused(http: httpx.AsyncClient, headers: dict | None = None) -> bool:
    [queue] = (await http.get("/admin/queues/api/queues", headers=headers)).json()["queues"]
    return queue["isPaused"]


async def test_csrf_token_required_for_browser_sessions(server_url: str) -> None:
    await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url)) as http:
        token = await csrf_token(http)
        for browser in BROWSER.items():
            missing = await http.post(PAUSE, headers=dict([browser]))
            assert missing.status_code == 403 and "CSRF" in missing.json()["error"]
        wrong = await http.post(PAUSE, headers={**BROWSER, "X-CSRF-Token": token[:-2] + "xx"})
        assert wrong.status_code == 403
        assert not await is_paused(http)
        right = await http.post(PAUSE, headers={**BROWSER, "X-CSRF-Token": token})
        assert right.status_code == 200
        assert await is_paused(http)


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}],
)
async def test_cross_origin_requests_are_refused(server_url: str, headers: dict) -> None:
    await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url)) as http:
        token = await csrf_token(http)
        response = await http.post(PAUSE, headers={"X-CSRF-Token": token, **headers})
        assert response.status_code == 403 and "Cross-site" in response.json()["error"]
        assert not await is_paused(http)


async def test_session_token_is_bound_to_its_session(server_url: str) -> None:
    await make_jobs(server_url)
    settings = Settings(redis_url=server_url, secret_key="k")
    async with make_client(settings) as alice, make_client(settings) as mallory:
        alice_token = await csrf_token(alice)
        await csrf_token(mallory)
        response = await mallory.post(PAUSE, headers={**BROWSER, "X-CSRF-Token": alice_token})
        assert response.status_code == 403


async def test_bearer_token(server_url: str) -> None:
    await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url, token="t0k")) as http:
        none = await http.get("/admin/queues/api/queues")
        assert none.status_code == 401 and none.headers["www-authenticate"].startswith("Bearer")
        wrong = await http.get("/admin/queues/api/queues", headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401
        right = await http.post(PAUSE, headers={"Authorization": "Bearer t0k"})
        assert right.status_code == 200  # no CSRF token needed for scripts


async def test_login_form(server_url: str) -> None:
    await make_jobs(server_url)
    settings = Settings(redis_url=server_url, username="ops", password="pw")
    async with make_client(settings) as http:
        page = await http.get("/admin/queues/")
        assert page.status_code == 303 and "/admin/queues/login" in page.headers["location"]
        api = await http.get("/admin/queues/api/queues")
        assert api.status_code == 401
        form = {"username": "ops", "password": "nope"}
        wrong = await http.post("/admin/queues/login", data=form)
        assert wrong.status_code == 401 and "do not match" in wrong.text
        form["password"] = "pw"
        right = await http.post("/admin/queues/login?next=//evil.example", data=form)
        assert right.status_code == 303 and right.headers["location"] == "/admin/queues/"
        assert "HttpOnly" in right.headers["set-cookie"]
        assert (await http.get("/admin/queues/")).status_code == 200
        token = await csrf_token(http)
        assert (await http.post(PAUSE, headers={"X-CSRF-Token": token})).status_code == 200


async def test_security_headers(server_url: str) -> None:
    async with make_client(Settings(redis_url=server_url)) as http:
        pages = ("/admin/queues/", "/admin/queues/nowhere")
        answers = ("/admin/queues/api/queues", "/admin/queues/api/queues/nowhere/jobs/1")
        for path in (*pages, *answers):
            response = await http.get(path)
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["referrer-policy"] == "same-origin"
            if response.headers["content-type"].startswith("text/html"):
                assert "script-src 'self'" in csp
                assert response.headers["x-frame-options"] == "DENY"
            else:
                # JSON is data: it may load nothing, run nothing, and be framed by nobody.
                assert response.headers["content-type"] == "application/json"
                assert csp == "default-src 'none'; frame-ancestors 'none'"
                assert "x-frame-options" not in response.headers


def test_served_answers_have_no_server_header_and_arrive_whole(redis7_url: str) -> None:
    """`drainboard serve` as the Docker image runs it: no `server: uvicorn`, and answers
    written by its one-write protocol (web/server.py) arrive whole, one after another on a
    keep-alive connection, HEAD included."""
    port = free_port()
    command = [sys.executable, "-m", "dashboard", "serve", "--redis-url", redis7_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRAINBOARD_")}
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    http.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "drainboard serve did not start"
                    time.sleep(0.1)
            for _ in range(3):
                answer = http.get("/admin/queues/api/queues")
                page = http.get("/admin/queues/")
                head = http.head("/admin/queues/")
                assert "queues" in answer.json()
                assert "</html>" in page.text and head.content == b""
                assert "x-frame-options" not in answer.headers
                assert page.headers["x-frame-options"] == "DENY"
                for each in (answer, page, head):
                    assert each.status_code == 200 and "server" not in each.headers
    finally:
        process.terminate()
        process.wait(10)


def test_open_binding_without_credentials_is_refused() -> None:
    open_settings = Settings(redis_url="redis://x")
    assert refuse_open_binding(open_settings, "127.0.0.1", no_auth=False) is None
    assert refuse_open_binding(open_settings, "0.0.0.0", no_auth=True) is None
    assert "without credentials" in refuse_open_binding(open_settings, "0.0.0.0", no_auth=False)
    with_token = Settings(redis_url="redis://x", token="t")
    assert refuse_open_binding(with_token, "0.0.0.0", no_auth=False) is None
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "serve",
            "--redis-url",
            "redis://127.0.0.1:1",
            "--host",
            "0.0.0.0",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0 without credentials" in refused.stderr


async def test_a_script_with_its_bearer_token_gets_no_session_cookie(server_url: str) -> None:
    async with make_client(Settings(redis_url=server_url, token="t")) as http:
        answer = await http.get("/admin/queues/api/queues", headers={"Authorization": "Bearer t"})
        page = await http.get("/admin/queues/login")
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers
    assert "set-cookie" in page.headers  # a browser still gets its session (and CSRF token)


async def test_a_script_reading_the_api_gets_no_session_cookie(server_url: str) -> None:
    """No credentials: a script's GETs of the JSON API need no session (no CSRF token to use),
    so none is signed for them; a page and an htmx request still get one."""
    async with make_client(Settings(redis_url=server_url)) as http:
        answer = await http.get("/admin/queues/api/queues")
        htmx = await http.get("/admin/queues/api/queues", headers={"HX-Request": "true"})
        http.cookies.clear()
        page = await http.get("/admin/queues/")
    assert answer.status_code == htmx.status_code == page.status_code == 200
    assert "set-cookie" not in answer.headers
    assert "set-cookie" in htmx.headers
    assert "set-cookie" in page.headers


async def test_a_script_read_without_credentials_reads_no_session_generation(
    own_server_url: str,
) -> None:
    """No credentials configured, no cookie, no token: the guard has nothing to decide, and a
    script's calls do not read the session generation (a GET, once per process: only a session
    needs it)."""
    ids = await make_jobs(own_server_url)
    job = f"/admin/queues/api/queues/mail/jobs/{ids['completed']}"
    client = aioredis.Redis.from_url(own_server_url)

    async def gets() -> int:
        return int((await client.info("commandstats")).get("cmdstat_get", {}).get("calls", 0))

    try:
        async with make_client(Settings(redis_url=own_server_url)) as http:
            before = await gets()
            calls = [await http.get(job) for _ in range(3)]
            after = await gets()
    finally:
        await client.aclose()
    assert all(call.json()["id"] == ids["completed"] for call in calls)
    assert after == before
