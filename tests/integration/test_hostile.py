"""What an attacker can type: job ids that name queue keys, ids and names that are not plain
path segments, numbers that are not plain numbers, oversized requests, and a failure inside a
handler. Every case gets a clear 4xx (or a 500 with headers on a kept-alive connection), and
nothing changes in Redis."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urljoin

import httpx
import pytest
import redis
from bullmq import Queue

from dashboard.bullmq.keys import audit_key
from dashboard.config import Settings
from dashboard.web import create_app
from tests.helpers import csrf_token, make_client, make_jobs
from tests.uvicorn_thread import serving

BASE = "/admin/queues"

# Job ids that spell one of a queue's own keys (or a job's side keys): each is an unknown job.
KEY_NAMED_IDS = [
    "meta",
    "wait",
    "id",
    "events",
    "completed",
    "delayed",
    "marker",
    "active",
    "paused",
    "prioritized",
    "stalled-check",
    "pc",
    "repeat",
    "1:logs",
    "1:lock",
    "2:logs",
    "repeat:some-scheduler",
    "de:dedup-id",
    "metrics:completed",
    ".",
    "..",
]


def key_snapshot(url: str) -> dict[str, object]:
    """Every key with its type and a dump of its value: proof that nothing changed. The audit
    trail is left out: a refused attempt is an entry there, by design."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        keys = sorted(set(client.keys("*")) - {audit_key("bull")})
        return {key: (client.type(key), client.dump(key)) for key in keys}
    finally:
        client.close()


async def test_job_ids_naming_queue_keys_are_unknown_jobs(server_url: str) -> None:
    await make_jobs(server_url)
    queue = Queue("mail", {"connection": server_url})
    await queue.pause()  # meta.paused: deleting the meta hash would silently resume the queue
    await queue.close()
    before = key_snapshot(server_url)
    async with make_client(Settings(redis_url=server_url, token="t")) as http:
        auth = {"Authorization": "Bearer t"}
        for job_id in KEY_NAMED_IDS:
            path = f"{BASE}/api/queues/mail/jobs/{_segment(job_id)}"
            for method, url in [
                ("GET", path),
                ("DELETE", path),
                ("POST", f"{path}/retry"),
                ("POST", f"{path}/promote"),
                ("GET", f"{BASE}/queue/mail/jobs/{_segment(job_id)}"),
                ("GET", f"{BASE}/queue/mail/jobs/{_segment(job_id)}/raw/data"),
            ]:
                answer = await http.request(method, url, headers=auth)
                assert answer.status_code == 404, (method, url, answer.text)
        [summary] = (await http.get(f"{BASE}/api/queues", headers=auth)).json()["queues"]
        assert summary["isPaused"] is True
    assert key_snapshot(server_url) == before


def _segment(value: str) -> str:
    # "." and ".." must reach the server unnormalised: percent-encode every character.
    return "".join(f"%{b:02X}" for b in value.encode()) if value.strip(".") == "" else value


async def test_slash_in_a_job_id_cannot_reaim_a_button(server_url: str) -> None:
    """The probe's case: a delayed job `../../other` in queue xssq must not promote queue other."""
    opts = {"connection": server_url}
    xssq, other = Queue("xssq", opts), Queue("other", opts)
    await xssq.add("x", {}, {"delay": 60_000, "jobId": "../../other"})
    for n in range(2):
        await other.add("o", {"n": n}, {"delay": 60_000})
    async with make_client(Settings(redis_url=server_url)) as http:
        token = await csrf_token(http)
        page_url = f"http://testserver{BASE}/queue/xssq?status=delayed"
        page = await http.get(page_url)
        [target] = re.findall(r'hx-post="([^"]+/promote)"', page.text)[-1:]
        # Resolve it as the browser does (dot segments removed), then press the button.
        pressed = await http.post(urljoin(page_url, target), headers={"X-CSRF-Token": token})
        assert pressed.status_code == 200, pressed.text
    assert await other.getJobCountByTypes("delayed") == 2
    assert await xssq.getJobState("../../other") == "waiting"
    await xssq.close()
    await other.close()


WEIRD_QUEUE = "we/ird ?#%q"
WEIRD_ID = "j/1 ?#%&x"


async def test_names_with_url_characters_open_and_their_actions_work(server_url: str) -> None:
    queue = Queue(WEIRD_QUEUE, {"connection": server_url})
    await queue.add("x", {"v": 1}, {"delay": 60_000, "jobId": WEIRD_ID})
    await queue.add("y", {"v": 2}, {"delay": 60_000, "jobId": "plain"})
    async with make_client(Settings(redis_url=server_url)) as http:
        token = await csrf_token(http)
        origin = "http://testserver"
        overview = await http.get(f"{origin}{BASE}/")
        [queue_link] = set(re.findall(r'<h2><a href="([^"]+)"', overview.text))
        queue_page = await http.get(urljoin(f"{origin}{BASE}/", queue_link) + "?status=delayed")
        assert queue_page.status_code == 200
        # The id cell opens the job in place (a button) and links to its page.
        links = re.findall(
            r'<td class="id">(?:<button[^>]*></button>)?<a href="([^"]+)"', queue_page.text
        )
        assert len(links) == 2
        job_url = urljoin(str(queue_page.url), next(link for link in links if "plain" not in link))
        job_page = await http.get(job_url)
        assert job_page.status_code == 200
        assert "j/1 ?#%&amp;x" in job_page.text
        [promote] = re.findall(r'hx-post="([^"]+/promote)"', job_page.text)
        pressed = await http.post(urljoin(job_url, promote), headers={"X-CSRF-Token": token})
        assert pressed.status_code == 200, pressed.text
        assert await queue.getJobState(WEIRD_ID) == "waiting"
        [remove] = re.findall(r'hx-delete="([^"]+)"', (await http.get(job_url)).text)
        removed = await http.delete(urljoin(job_url, remove), headers={"X-CSRF-Token": token})
        assert removed.status_code == 200, removed.text
        assert await queue.getJobState(WEIRD_ID) == "unknown"
        assert await queue.getJobState("plain") == "delayed"
        raw = await http.get(f"{job_url.replace('/jobs/j%2F1', '/jobs/plain')}")
        assert raw.status_code in (200, 404)
    await queue.close()


# Numbers that Python's int()/float()/str.isdigit() let through or choke on: each is a 400.
HOSTILE_NUMBERS = [
    ("api/queues/mail/jobs?page=%2B1", "page"),
    ("api/queues/mail/jobs?page=1_0", "page"),
    ("api/queues/mail/jobs?page=%D9%A3", "page"),  # Arabic-Indic three
    ("api/queues/mail/jobs?pageSize=%C2%B2", "pageSize"),  # superscript two
    ("api/queues/mail/jobs?page=-1", "page"),
    ("api/queues/mail/jobs?page=" + "9" * 5000, "page"),
    ("api/queues/mail/jobs?page=" + "0" * 4999 + "1&pageSize=0", "pageSize"),
    ("api/queues/mail/jobs?page=9223372036854775807&pageSize=200", "page"),
    ("api/queues/mail/jobs?page=46116860184273880&pageSize=200", "page"),
    ("api/queues/mail/jobs?page=1.0", "page"),
    ("api/queues/mail/jobs?page=%201", "page"),
    ("queue/mail?page=%2B1", "page"),
    ("api/cost?queues=1_0", "queues"),
    ("api/cost?queues=%D9%A3", "queues"),
    ("api/cost?queues=1e3", "queues"),
    ("api/cost?queues=nan", "queues"),
]
HOSTILE_ACTION_NUMBERS = [
    ("api/queues/mail/clean?status=completed&grace=%C2%B2", "grace"),
    ("api/queues/mail/clean?status=completed&grace=" + "9" * 5000, "grace"),
    ("api/queues/mail/clean?status=completed&limit=%2B5", "limit"),
    ("api/queues/mail/clean?status=completed&limit=0", "limit"),
    ("api/drain?maxDurationMs=1_000", "maxDurationMs"),
    ("api/drain?maxJobsPerQueue=" + "9" * 5000, "maxJobsPerQueue"),
]


@pytest.mark.parametrize(("path", "name"), HOSTILE_NUMBERS)
async def test_hostile_numbers_are_400(server_url: str, path: str, name: str) -> None:
    await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url)) as http:
        answer = await http.get(f"{BASE}/{path}", headers={"Accept": "application/json"})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["status"] == 400 and name in body["error"]


@pytest.mark.parametrize(("path", "name"), HOSTILE_ACTION_NUMBERS)
async def test_hostile_numbers_in_actions_are_400_and_change_nothing(
    server_url: str, path: str, name: str
) -> None:
    await make_jobs(server_url)
    before = key_snapshot(server_url)
    async with make_client(Settings(redis_url=server_url, token="t")) as http:
        answer = await http.post(f"{BASE}/{path}", headers={"Authorization": "Bearer t"})
    assert answer.status_code == 400, answer.text
    assert name in answer.json()["error"]
    assert key_snapshot(server_url) == before


async def test_oversized_url_and_headers(client: httpx.AsyncClient) -> None:
    long_url = await client.get(f"{BASE}/api/queues?x={'a' * 9000}")
    assert long_url.status_code == 414 and long_url.json()["status"] == 414
    big_headers = await client.get(f"{BASE}/api/queues", headers={"X-Big": "a" * 17_000})
    assert big_headers.status_code == 431 and "headers" in big_headers.json()["error"]
    assert big_headers.headers["content-security-policy"]


def test_a_500_keeps_headers_and_the_connection(server_url: str) -> None:
    """Over a real socket: an unexpected error is a one-sentence 500 with the security headers,
    and the keep-alive connection serves the next request."""
    app = create_app(Settings(redis_url=server_url))

    async def broken(queues: list[str]) -> list:
        raise RuntimeError("boom")

    app.state.board.reader.summaries = broken
    with serving(app) as origin:
        connection = http.client.HTTPConnection(origin.removeprefix("http://"), timeout=10)
        for path, kind in [(f"{BASE}/api/queues", "json"), (f"{BASE}/", "html")]:
            connection.request("GET", path)
            answer = connection.getresponse()
            body = answer.read().decode()
            assert answer.status == 500
            assert answer.getheader("content-security-policy")
            assert answer.getheader("x-content-type-options") == "nosniff"
            assert answer.getheader("connection") != "close"
            assert "boom" not in body and "Traceback" not in body
            assert ('"status":500' in body) if kind == "json" else ("<html" in body.lower())
        sock = connection.sock
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        assert answer.status == 200 and answer.read()
        assert connection.sock is sock  # the same connection, not a reconnect
        connection.close()


def test_uvicorn_refuses_a_70kb_url_and_we_refuse_9kb(server_url: str) -> None:
    app = create_app(Settings(redis_url=server_url))
    with serving(app) as origin:
        for size, statuses in [(9000, {414}), (70_000, {400, 414})]:
            connection = http.client.HTTPConnection(origin.removeprefix("http://"), timeout=10)
            connection.request("GET", f"{BASE}/api/queues?x={'a' * size}")
            answer = connection.getresponse()
            assert answer.status in statuses, (size, answer.status)
            connection.close()


async def test_router_refusals_are_one_sentence_in_json_and_html(server_url: str) -> None:
    await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url, token="t")) as http:
        auth = {"Authorization": "Bearer t"}
        for accept, read in (("application/json", _json_error), ("text/html", _page_error)):
            headers = {**auth, "Accept": accept}
            for method, path, status, sentence in [
                ("GET", f"{BASE}/api/queues/mail/retry", 405, "This address takes POST, not GET."),
                ("GET", f"{BASE}/api/pause-all", 405, "This address takes POST, not GET."),
                ("PUT", f"{BASE}/api/queues/mail", 405, "This address takes DELETE, not PUT."),
                ("GET", f"{BASE}/api/queues/mail/jobs/a%0D%0Ab", 404, "No page at this address."),
                ("GET", f"{BASE}/queue/mail/jobs/a%0D%0Ab", 404, "No page at this address."),
                ("POST", f"{BASE}/api/queues/mail/jobs/1/retry/x", 404, "No page at this address."),
                ("GET", f"{BASE}/no-such-page", 404, "No page at this address."),
            ]:
                if accept == "text/html" and path.startswith(f"{BASE}/api/"):
                    continue  # the API answers JSON whatever it is asked for
                answer = await http.request(method, path, headers=headers)
                assert answer.status_code == status, (accept, method, path, answer.text)
                assert read(answer) == sentence, (accept, method, path)


HOSTILE = "<" + "x" * 7_000


async def test_hostile_values_are_cut_where_an_error_quotes_them(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url, token="t")) as http:
        auth = {"Authorization": "Bearer t"}
        api = f"{BASE}/api/queues/mail"
        for method, path, body in [
            ("GET", f"{BASE}/api/queues/{HOSTILE}/jobs", None),
            ("GET", f"{api}/jobs/{HOSTILE}", None),
            ("POST", f"{api}/jobs/{HOSTILE}/retry", None),
            ("PUT", f"{api}/jobs/{HOSTILE}/data", {"a": 1}),
            ("POST", f"{api}/jobs/{HOSTILE}/duplicate", None),
            ("POST", f"{api}/jobs", {"name": "n", "data": {}, "opts": {"jobId": "repeat"}}),
            ("POST", f"{api}/jobs", {"name": "n", "data": {}, "opts": {HOSTILE: 1}}),
            (
                "POST",
                f"{api}/jobs",
                {"name": "n", "opts": {"backoff": {"type": "fixed", HOSTILE: 1}}},
            ),
            ("POST", f"{api}/retry?status={HOSTILE[:5000]}", None),
            ("POST", f"{api}/clean?status=active", None),
            ("DELETE", f"{api}?confirm={HOSTILE[:5000]}", None),
            ("POST", f"{api}/empty?delayed={HOSTILE[:5000]}", None),
            ("GET", f"{api}/jobs/{ids['waiting']}/flow?cursor={HOSTILE[:5000]}", None),
            ("GET", f"{BASE}/live?queue={HOSTILE[:5000]}", None),
            ("GET", f"{BASE}/api/cost?worker={HOSTILE[:5000]}", None),
        ]:
            headers = {**auth, "Accept": "application/json"}
            answer = await http.request(method, path, json=body, headers=headers)
            assert 400 <= answer.status_code < 500, (method, path[:80], answer.text[:200])
            error = answer.json()["error"]
            assert len(error) < 300, (method, path[:80], error[:200])
            assert "xxxxxxxxxx" not in error or "…'" in error, error[:200]


def _json_error(answer: httpx.Response) -> str:
    return answer.json()["error"]


def _page_error(answer: httpx.Response) -> str:
    assert answer.headers["content-type"].startswith("text/html")
    match = re.search(r'<p class="error-message">(.*?)</p>', answer.text, re.S)
    assert match, answer.text[:500]
    return match.group(1).strip()
