"""Authentication under attack: body caps, wrong-secret lock-out, revocation on sign-out and on a
changed password, one cookie per answer, /metrics behind a token, read-only vs the cron token."""

from __future__ import annotations

import socket

import httpx
import pytest

from dashboard.config import Settings
from dashboard.web import create_app
from dashboard.web.middleware.guard import FAILED_SECRETS_PER_MINUTE
from dashboard.web.middleware.request_limits import MAX_FORM_BODY
from dashboard.web.middleware.sessions import COOKIE
from tests.helpers import AppClient, csrf_token, make_jobs
from tests.uvicorn_thread import serving

BASE = "/admin/queues"
PAUSE = f"{BASE}/api/queues/mail/pause"


def client_for(settings: Settings, address: str = "127.0.0.1", app=None) -> httpx.AsyncClient:
    """The app seen from one client address (the throttles key on it)."""
    return AppClient(app or create_app(settings), address)


def login_settings(url: str, **extra: object) -> Settings:
    return Settings(redis_url=url, username="ops", password="pw", secret_key="k", **extra)


async def sign_in(http: httpx.AsyncClient, password: str = "pw") -> httpx.Response:
    return await http.post(f"{BASE}/login", data={"username": "ops", "password": password})


async def test_login_body_over_the_cap_is_413(server_url: str) -> None:
    async with client_for(login_settings(server_url)) as http:
        big = await http.post(f"{BASE}/login", content=b"a=" + b"x" * MAX_FORM_BODY)
        assert big.status_code == 413

        async def chunks():  # no Content-Length: counted as it arrives
            for _ in range(64):
                yield b"x" * 1024

        streamed = await http.post(f"{BASE}/login", content=chunks())
        assert streamed.status_code == 413
        assert (await sign_in(http)).status_code == 303


def test_a_300_mb_declared_body_is_refused_before_it_is_sent(server_url: str) -> None:
    """Over a real socket: the headers alone get the 413; the server reads no body."""
    with serving(create_app(login_settings(server_url))) as origin:
        host, port = origin.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                f"POST {BASE}/login HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 300000000\r\n\r\n".encode()
            )
            head = sock.recv(4096).decode(errors="replace")
        assert head.startswith("HTTP/1.1 413")


async def test_wrong_passwords_lock_the_client_out(server_url: str) -> None:
    settings = login_settings(server_url)
    app = create_app(settings)
    async with (
        client_for(settings, app=app) as attacker,
        client_for(settings, "10.0.0.2", app=app) as neighbour,
    ):
        for _ in range(FAILED_SECRETS_PER_MINUTE):
            assert (await sign_in(attacker, "guess")).status_code == 401
        locked = await sign_in(attacker, "pw")  # even the right password, for now
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        assert (await sign_in(neighbour)).status_code == 303


async def test_wrong_bearer_tokens_lock_the_client_out(server_url: str) -> None:
    settings = Settings(redis_url=server_url, token="t0k")
    async with client_for(settings) as http:
        for n in range(FAILED_SECRETS_PER_MINUTE):
            wrong = await http.get(f"{BASE}/api/queues", headers={"Authorization": f"Bearer {n}"})
            assert wrong.status_code == 401
        locked = await http.get(f"{BASE}/api/queues", headers={"Authorization": "Bearer t0k"})
        assert locked.status_code == 429 and locked.json()["status"] == 429


async def test_wrong_cron_tokens_count_against_the_limit(server_url: str) -> None:
    await make_jobs(server_url)
    settings = Settings(redis_url=server_url, cron_tokens=("cron",))
    async with client_for(settings) as http:
        url = "/api/v1/cron/drain-queues"
        for _ in range(12):
            wrong = await http.post(url, headers={"X-Cron-Secret": "nope"})
            assert wrong.status_code == 401
        right = await http.post(url, headers={"X-Cron-Secret": "cron"})
        assert right.status_code == 429 and right.headers["retry-after"]


async def test_sign_out_ends_every_earlier_session(server_url: str) -> None:
    await make_jobs(server_url)
    settings = login_settings(server_url)
    app = create_app(settings)
    async with client_for(settings, app=app) as alice, client_for(settings, app=app) as thief:
        assert (await sign_in(alice)).status_code == 303
        stolen = alice.cookies[COOKIE]
        token = await csrf_token(alice)
        thief.cookies.set(COOKIE, stolen)
        assert (await thief.get(f"{BASE}/api/queues")).status_code == 200
        signed_out = await alice.post(f"{BASE}/logout", headers={"X-CSRF-Token": token})
        assert signed_out.status_code == 303
        thief.cookies.set(COOKIE, stolen)
        assert (await thief.get(f"{BASE}/api/queues")).status_code == 401
        paused = await thief.post(PAUSE, headers={"X-CSRF-Token": token})
        assert paused.status_code == 401
    # Another process sharing the secret key reads the same generation at start.
    async with client_for(settings) as later:
        later.cookies.set(COOKIE, stolen)
        assert (await later.get(f"{BASE}/api/queues")).status_code == 401


async def test_a_changed_password_ends_every_session(server_url: str) -> None:
    await make_jobs(server_url)
    async with client_for(login_settings(server_url)) as before:
        assert (await sign_in(before)).status_code == 303
        cookie = before.cookies[COOKIE]
    async with client_for(login_settings(server_url)) as same:  # a restart, same password
        same.cookies.set(COOKIE, cookie)
        assert (await same.get(f"{BASE}/api/queues")).status_code == 200
    changed = Settings(redis_url=server_url, username="ops", password="new", secret_key="k")
    async with client_for(changed) as after:
        after.cookies.set(COOKIE, cookie)
        assert (await after.get(f"{BASE}/api/queues")).status_code == 401


async def test_a_tampered_cookie_is_no_session(server_url: str) -> None:
    await make_jobs(server_url)
    async with client_for(login_settings(server_url)) as http:
        await sign_in(http)
        cookie = http.cookies[COOKIE]
        http.cookies.set(COOKIE, cookie[:-3] + ("aaa" if not cookie.endswith("aaa") else "bbb"))
        assert (await http.get(f"{BASE}/api/queues")).status_code == 401


async def test_sign_in_without_a_cookie_sets_exactly_one(server_url: str) -> None:
    await make_jobs(server_url)
    async with client_for(login_settings(server_url)) as http:
        answer = await sign_in(http)  # no page opened first: no session cookie yet
        assert answer.status_code == 303
        assert len(answer.headers.get_list("set-cookie")) == 1
        assert (await http.get(f"{BASE}/api/queues")).status_code == 200


@pytest.mark.parametrize(
    ("extra", "headers", "status"),
    [
        ({}, {}, 200),  # no credentials at all: loopback only, open
        ({"token": "t"}, {}, 401),
        ({"token": "t"}, {"Authorization": "Bearer wrong"}, 401),
        ({"token": "t"}, {"Authorization": "Bearer t"}, 200),
        ({"token": "t", "metrics_token": "m"}, {"Authorization": "Bearer m"}, 200),
        ({"username": "u", "password": "p"}, {}, 401),
        ({"metrics_token": "m"}, {}, 401),
        ({"metrics_token": "m"}, {"Authorization": "Bearer m"}, 200),
    ],
)
async def test_metrics_needs_a_token_once_credentials_are_set(
    server_url: str, extra: dict, headers: dict, status: int
) -> None:
    await make_jobs(server_url)
    async with client_for(Settings(redis_url=server_url, **extra)) as http:
        answer = await http.get("/metrics", headers=headers)
        assert answer.status_code == status
        assert ("bullmq" in answer.text) == (status == 200)


async def test_read_only_refuses_the_drain_button_but_the_cron_token_still_drains(
    server_url: str,
) -> None:
    await make_jobs(server_url)
    settings = Settings(redis_url=server_url, read_only=True, token="t", cron_tokens=("cron",))
    async with client_for(settings) as http:
        button = await http.post(f"{BASE}/api/drain", headers={"Authorization": "Bearer t"})
        assert button.status_code == 403
        cron = await http.post("/api/v1/cron/drain-queues", headers={"X-Cron-Secret": "cron"})
        assert cron.status_code == 200 and cron.json()["ok"] is True
