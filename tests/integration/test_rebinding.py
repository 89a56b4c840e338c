"""DNS rebinding, scripts without credentials, and what the API reads (issue 21, items 1, 10, 11).

Against a real uvicorn, configured as `drainboard serve` on loopback configures it: a page whose
name resolves to 127.0.0.1 reaches the socket, but its Host header names it.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from bullmq import Queue, Worker

from dashboard.config import Settings, hosts_for_bind
from dashboard.web import create_app
from tests.uvicorn_thread import serving

BASE = "/admin/queues"
API = f"{BASE}/api/queues/mail"


async def failed_job(url: str) -> str:
    """A queue `mail` holding one failed job; returns its id."""
    opts = {"connection": url}
    queue = Queue("mail", opts)
    worker = Worker("mail", None, {**opts, "autorun": False})
    token = uuid.uuid4().hex
    await queue.add("welcome", {"to": "a@example.com"})
    job = await worker.getNextJob(token)
    try:
        raise ValueError("mailbox full")
    except ValueError as err:
        await job.moveToFailed(err, token)
    await worker.close(force=True)
    await queue.close()
    return job.id


@dataclass
class Served:
    http: httpx.AsyncClient
    port: int
    failed_id: str


@pytest.fixture
async def served(server_url: str) -> AsyncIterator[Served]:
    """The dashboard as `drainboard serve --host 127.0.0.1` sets it up, with no credentials,
    over a queue `mail` with one failed job."""
    failed_id = await failed_job(server_url)
    settings = Settings(redis_url=server_url, allowed_hosts=hosts_for_bind("127.0.0.1"))
    with serving(create_app(settings)) as origin:
        async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
            yield Served(http, int(origin.rsplit(":", 1)[1]), failed_id)


async def state_of(http: httpx.AsyncClient, job_id: str) -> str:
    return (await http.get(f"{API}/jobs/{job_id}")).json()["state"]


async def test_a_rebound_host_name_gets_nothing(served: Served) -> None:
    http, port = served.http, served.port
    evil = f"evil.example:{port}"
    for path in ("/", "/api/queues", "/api/redis", "/queue/mail"):
        page = await http.get(BASE + path, headers={"Host": evil})
        assert page.status_code == 400, path
        text = html.unescape(page.text)
        assert f"Host header {evil!r} is not allowed" in text
        assert "--allowed-hosts evil.example to allow it" in text
    assert (await http.get("/metrics", headers={"Host": evil})).status_code == 400
    # A liveness probe is reached by address, under any name.
    assert (await http.get("/healthz", headers={"Host": evil})).status_code == 200
    # The attacker at its best: a cookie and a CSRF token taken under the real name.
    page = await http.get(f"{BASE}/")
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    attack = {"Host": evil, "Origin": f"http://{evil}", "X-CSRF-Token": token}
    gone = await http.delete(f"{API}?confirm=mail&force=1", headers=attack)
    assert gone.status_code == 400 and "not allowed" in gone.json()["error"]
    # The real name with the attacker's origin: refused as cross-site.
    foreign = {"Origin": f"http://{evil}", "X-CSRF-Token": token}
    assert (await http.delete(f"{API}?confirm=mail&force=1", headers=foreign)).status_code == 403
    names = [q["name"] for q in (await http.get(f"{BASE}/api/queues")).json()["queues"]]
    assert names == ["mail"]
    # Loopback's names, any port, and a huge hostile name is quoted cut.
    for host in (f"localhost:{port}", f"[::1]:{port}", "127.0.0.1"):
        assert (await http.get(f"{BASE}/api/queues", headers={"Host": host})).status_code == 200
    huge = await http.get(f"{BASE}/api/queues", headers={"Host": "x" * 5000})
    assert huge.status_code == 400 and len(huge.json()["error"]) < 300


async def test_scripts_need_no_csrf_token_without_credentials(served: Served) -> None:
    http, port, job_id = served.http, served.port, served.failed_id
    retry = f"{API}/jobs/{job_id}/retry"
    # Browsers mark their requests; any mark but same-origin (or none, typed by hand) is refused.
    for browser in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
        {"Origin": f"http://localhost:{port + 1}"},
        {"Origin": "null"},
    ):
        refused = await http.post(retry, headers=browser)
        assert refused.status_code == 403, browser
        assert await state_of(http, job_id) == "failed"
    # A browser of this origin still needs its session's CSRF token.
    own = await http.post(retry, headers={"Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 403 and "CSRF" in own.json()["error"]
    # curl -X POST: neither mark, so not a browser.
    plain = await http.post(retry)
    assert plain.status_code == 200, plain.text
    assert await state_of(http, job_id) == "waiting"


async def test_with_credentials_a_script_still_needs_the_token(server_url: str) -> None:
    job_id = await failed_job(server_url)
    settings = Settings(redis_url=server_url, token="t0k", allowed_hosts=("localhost",))
    with serving(create_app(settings)) as origin:
        port = origin.rsplit(":", 1)[1]
        async with httpx.AsyncClient(base_url=f"http://localhost:{port}", timeout=10) as http:
            plain = await http.post(f"{API}/jobs/{job_id}/retry")
            assert plain.status_code == 401
            auth = {"Authorization": "Bearer t0k"}
            assert (await http.post(f"{API}/jobs/{job_id}/retry", headers=auth)).status_code == 200


async def test_json_body_static_files_and_the_drain_body(served: Served) -> None:
    http = served.http
    body = b'{"name": "n", "data": {"a": 1}}'
    for content_type in ("text/plain", "application/x-ndjson", None):
        headers = {"content-type": content_type} if content_type else {}
        added = await http.post(f"{API}/jobs", content=body, headers=headers)
        assert added.status_code == 400, content_type
        assert "Content-Type: application/json" in added.json()["error"]
    counts = (await http.get(f"{BASE}/api/queues")).json()["queues"][0]["counts"]
    assert counts["waiting"] == 0
    labelled = {"content-type": "application/json; charset=utf-8"}
    assert (await http.post(f"{API}/jobs", content=body, headers=labelled)).status_code == 200
    # The stylesheet is served; the package's own source is not.
    assert (await http.get(f"{BASE}/static/style.css")).status_code == 200
    for name in ("__init__.py", "htmx.LICENSE", "__pycache__/__init__.cpython-311.pyc"):
        assert (await http.get(f"{BASE}/static/{name}")).status_code == 404, name
    # The drain reads its parameters from the query: a body asking for a queue is refused.
    drain = f"{BASE}/api/drain"
    asked = await http.post(drain, json={"queue": "nope"})
    assert asked.status_code == 400 and "query string" in asked.json()["error"]
    waiting = (await http.get(f"{BASE}/api/queues")).json()["queues"][0]["counts"]["waiting"]
    assert waiting == 1
    assert (await http.post(drain, json={})).status_code == 200
    assert (await http.post(drain, headers={"content-type": "application/json"})).status_code == 200


async def test_the_cron_endpoint_refuses_a_body(server_url: str) -> None:
    await failed_job(server_url)
    settings = Settings(redis_url=server_url, cron_tokens=("c",), allowed_hosts=("127.0.0.1",))
    with serving(create_app(settings)) as origin:
        async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
            cron = "/api/v1/cron/drain-queues"
            secret = {"X-Cron-Secret": "c"}
            asked = await http.post(cron, json={"queue": "nope"}, headers=secret)
            assert asked.status_code == 400 and "query string" in asked.json()["error"]
            seed_curl = {**secret, "Content-Type": "application/json"}
            assert (await http.post(cron, headers=seed_curl)).status_code == 200
