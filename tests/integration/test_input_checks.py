"""Values that cannot be stored, bytes that are not text and blank numbers: each a 400 naming
the field, with nothing written (issue 21, items 5 and 8)."""

from __future__ import annotations

import httpx
from bullmq import Queue

from dashboard.config import Settings
from tests.helpers import make_client

BEARER = {"Authorization": "Bearer s3cret"}
API = "/admin/queues/api/queues/mail"
JSON = {**BEARER, "content-type": "application/json"}
# As htmx's json-form extension sends the add and edit forms (static/forms.js).
HTMX_JSON = {**JSON, "hx-request": "true"}
FORM = {**BEARER, "content-type": "application/x-www-form-urlencoded"}


def bearer_client(url: str) -> httpx.AsyncClient:
    return make_client(Settings(redis_url=url, token="s3cret", queues=("mail",)))


def error_of(answer: httpx.Response) -> str:
    """The refusal's sentence: JSON for scripts, a notice line for htmx."""
    if answer.headers["content-type"].startswith("application/json"):
        return answer.json()["error"]
    return answer.text


async def job_total(http: httpx.AsyncClient) -> int:
    [queue] = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
    return sum(queue["counts"].values())


async def test_infinity_and_lone_surrogates_are_refused_by_field(server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    kept = await queue.add("keep", {"v": 1})
    await queue.close()
    async with bearer_client(server_url) as http:
        cases = [
            (API + "/jobs", JSON, b'{"name": "n", "data": {"big": 1e999}}', "data.big"),
            (API + "/jobs", JSON, b'{"name": "n", "data": {"l": [1, -1e999]}}', "data.l[1]"),
            (API + "/jobs", JSON, b'{"name": "\\ud800", "data": {}}', "name"),
            (API + "/jobs", JSON, b'{"name": "n", "data": {"\\udfff": 1}}', "a key in data"),
            (API + "/jobs", JSON, b'{"name": "n", "opts": {"jobId": "a\\ud800"}}', "opts.jobId"),
            (API + "/jobs", HTMX_JSON, b'{"name": "n", "data": "{\\"a\\": 1e999}"}', "a is"),
            (API + "/jobs", HTMX_JSON, b'{"name": "\\ud800", "data": "{}"}', "name"),
            (f"{API}/jobs/{kept.id}/data", JSON, b'{"x": 1e999}', "x is"),
            (f"{API}/jobs/{kept.id}/data", JSON, b'"\\ud800"', "the value"),
            (f"{API}/jobs/{kept.id}/data", HTMX_JSON, b'{"data": "[1e400]"}', "[0]"),
        ]
        for url, headers, body, where in cases:
            method = "PUT" if url.endswith("/data") else "POST"
            answer = await http.request(method, url, content=body, headers=headers)
            assert answer.status_code == 400, (body, answer.text)
            error = error_of(answer)
            assert "cannot be stored" in error and where in error, (body, error)
            assert ("infinity" in error) != ("surrogate" in error), error
        assert await job_total(http) == 1
        job = (await http.get(f"{API}/jobs/{kept.id}", headers=BEARER)).json()
        assert job["data"] == {"v": 1}


async def test_bytes_that_are_not_utf8_are_refused_not_replaced(server_url: str) -> None:
    async with bearer_client(server_url) as http:
        for headers, body in [
            (JSON, b'{"name": "n\xff", "data": {}}'),
            (HTMX_JSON, b'{"name": "n", "data": "{\\"to\\": \\"\xc3\\"}"}'),
            (FORM, b"name=n&jobId=%FF"),
            (FORM, b"name=n&jobId=a\xfe"),
        ]:
            answer = await http.post(f"{API}/jobs", content=body, headers=headers)
            assert answer.status_code == 400, (body, answer.text)
            assert "not UTF-8" in error_of(answer), answer.text
        assert await job_total(http) == 0
        # Text that is UTF-8, percent-encoded or not, still goes in.
        fine = await http.post(f"{API}/jobs", content=b"name=n&jobId=%C3%A9t%C3%A9", headers=FORM)
        assert fine.status_code == 200, fine.text
        assert fine.json()["id"] == "été"


async def test_blank_numbers_are_refused_and_change_nothing(server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.setGlobalConcurrency(3)
    await queue.setGlobalRateLimit(10, 1000)
    prioritized = await queue.add("p", {}, {"priority": 5})
    delayed = await queue.add("d", {}, {"delay": 60_000})
    job_url = f"{API}/jobs"
    try:
        async with bearer_client(server_url) as http:
            for path, body in [
                ("/concurrency?concurrency=", None),
                ("/concurrency?concurrency=%20", None),
                ("/concurrency", b"concurrency="),
                ("/rate-limit?max=&duration=", None),
                ("/rate-limit?max=5&duration=", None),
                ("/rate-limit", b"max=&duration="),
                ("/rate-limit?max=5", None),
                ("/jobs/" + prioritized.id + "/priority?priority=", None),
                ("/jobs/" + prioritized.id + "/priority", b"priority="),
                ("/jobs/" + delayed.id + "/delay?delay=", None),
                ("/jobs/" + delayed.id + "/delay", b"delay="),
            ]:
                answer = await http.post(API + path, content=body, headers=FORM)
                assert answer.status_code == 400, (path, body, answer.text)
                error = error_of(answer)
                if path != "/rate-limit?max=5":
                    assert "whole number from" in error and "it was empty" in error, error
            assert await queue.getGlobalConcurrency() == 3
            assert await queue.getGlobalRateLimit() == {"max": 10, "duration": 1000}
            for job_id, field, value in [
                (prioritized.id, "priority", 5),
                (delayed.id, "delay", 60_000),
            ]:
                job = (await http.get(f"{job_url}/{job_id}", headers=BEARER)).json()
                assert job[field] == value
            # Removing a limit is explicit: 0, as the manage page's Remove buttons send.
            page = (await http.get("/admin/queues/queue/mail/manage", headers=BEARER)).text
            assert f"{API}/concurrency?concurrency=0" in page and f"{API}/rate-limit?max=0" in page
            assert (await http.post(f"{API}/concurrency?concurrency=0", headers=BEARER)).is_success
            assert (await http.post(f"{API}/rate-limit?max=0", headers=BEARER)).is_success
            assert await queue.getGlobalConcurrency() is None
            assert await queue.getGlobalRateLimit() is None
    finally:
        await queue.close()
