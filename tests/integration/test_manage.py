"""Adding and editing jobs and queue-wide actions through the API, on real servers."""

from __future__ import annotations

import uuid

import httpx
from bullmq import Queue, Worker

from dashboard.config import Settings
from tests.helpers import csrf_token, make_client, make_jobs

BEARER = {"Authorization": "Bearer s3cret"}
API = "/admin/queues/api/queues/mail"


def bearer_client(url: str, **settings: object) -> httpx.AsyncClient:
    return make_client(Settings(redis_url=url, token="s3cret", queues=("mail",), **settings))


async def counts(http: httpx.AsyncClient) -> dict[str, int]:
    [queue] = (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
    return queue["counts"]


async def test_add_job_with_options(server_url: str) -> None:
    async with bearer_client(server_url) as http:
        body = {"name": "send", "data": {"to": "a@b.c"}, "opts": {"attempts": 2, "delay": 5000}}
        added = await http.post(f"{API}/jobs", json=body, headers=BEARER)
        assert added.status_code == 200, added.text
        answer = added.json()
        assert answer["ok"] is True and answer["count"] == 1 and "delayed" in answer["message"]
        job = (await http.get(f"{API}/jobs/{answer['id']}", headers=BEARER)).json()
        assert job["state"] == "delayed" and job["data"] == {"to": "a@b.c"}
        assert job["opts"]["attempts"] == 2 and job["delay"] == 5000
        # A string, a list, null: any JSON is data.
        for data in ("plain", [1, 2], None):
            one = await http.post(f"{API}/jobs", json={"name": "x", "data": data}, headers=BEARER)
            got = (await http.get(f"{API}/jobs/{one.json()['id']}", headers=BEARER)).json()
            assert got["data"] == data


async def test_bad_json_points_at_the_error(server_url: str) -> None:
    async with bearer_client(server_url) as http:
        bad = await http.post(
            f"{API}/jobs",
            content=b'{"name": "send",\n "data": {"to": "a"\n  "cc": 1}}',
            headers={**BEARER, "content-type": "application/json"},
        )
        assert bad.status_code == 400
        error = bad.json()["error"]
        assert "not valid JSON" in error and "line 3, column 3" in error
        nan = await http.post(
            f"{API}/jobs",
            content=b'{"name": "n", "data": NaN}',
            headers={**BEARER, "content-type": "application/json"},
        )
        assert nan.status_code == 400 and "NaN" in nan.json()["error"]
        deep = await http.post(
            f"{API}/jobs",
            content=b'{"name": "n", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            headers={**BEARER, "content-type": "application/json"},
        )
        assert deep.status_code == 400 and "nested too deeply" in deep.json()["error"]
        assert sum((await counts(http)).values()) == 0


async def test_bad_fields_and_options_are_refused_by_name(server_url: str) -> None:
    await make_jobs(server_url)
    async with bearer_client(server_url) as http:
        before = await counts(http)
        cases = [
            ([1, 2], "JSON object"),
            ({"data": {}}, "name"),
            ({"name": "", "data": {}}, "name"),
            ({"name": "n", "opts": []}, "opts"),
            ({"name": "n", "opts": {"repeat": {"every": 1}}}, "repeat"),
            ({"name": "n", "opts": {"delay": -1}}, "delay"),
            ({"name": "n", "opts": {"delay": "10"}}, "delay"),
            ({"name": "n", "opts": {"priority": 3_000_000}}, "priority"),
            ({"name": "n", "opts": {"attempts": -1}}, "attempts"),
            ({"name": "n", "opts": {"jobId": "42"}}, "jobId"),
            ({"name": "n", "opts": {"jobId": "a:b"}}, "jobId"),
            ({"name": "n", "opts": {"backoff": {"type": "linear"}}}, "backoff"),
            ({"name": "n", "opts": {"removeOnFail": "yes"}}, "removeOnFail"),
            ({"name": "n", "opts": {"jobId": "meta"}}, "jobId"),
            ({"name": "n", "opts": {"jobId": "wait"}}, "jobId"),
            ({"name": "n", "opts": {"delay": 2**53}}, "delay"),
            ({"name": "n", "opts": {"attempts": 10**30}}, "attempts"),
            ({"name": "n", "opts": {"backoff": {"type": "fixed", "delay": 1e3}}}, "backoff"),
        ]
        for body, word in cases:
            answer = await http.post(f"{API}/jobs", json=body, headers=BEARER)
            assert answer.status_code == 400, body
            assert word in answer.json()["error"], (body, answer.json())
        taken = await http.post(
            f"{API}/jobs", json={"name": "n", "opts": {"jobId": "dup"}}, headers=BEARER
        )
        assert taken.status_code == 200
        again = await http.post(
            f"{API}/jobs", json={"name": "n", "opts": {"jobId": "dup"}}, headers=BEARER
        )
        assert again.status_code == 409 and "already has a job" in again.json()["error"]
        after = await counts(http)
        assert after["waiting"] == before["waiting"] + 1


async def test_edit_data_only_where_bullmq_allows(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with bearer_client(server_url) as http:
        for state in ("waiting", "delayed", "failed", "prioritized"):
            put = await http.put(f"{API}/jobs/{ids[state]}/data", json={"v": state}, headers=BEARER)
            assert put.status_code == 200, (state, put.text)
            job = (await http.get(f"{API}/jobs/{ids[state]}", headers=BEARER)).json()
            assert job["data"] == {"v": state} and job["state"] == state
        refused = await http.put(f"{API}/jobs/{ids['completed']}/data", json={}, headers=BEARER)
        assert refused.status_code == 409 and "completed" in refused.json()["error"]
        missing = await http.put(f"{API}/jobs/nope/data", json={}, headers=BEARER)
        assert missing.status_code == 404
        broken = await http.put(
            f"{API}/jobs/{ids['waiting']}/data",
            content=b"{oops",
            headers={**BEARER, "content-type": "application/json"},
        )
        assert broken.status_code == 400 and "line 1, column 2" in broken.json()["error"]


async def test_priority_and_delay_changes(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with bearer_client(server_url) as http:
        up = await http.post(f"{API}/jobs/{ids['waiting']}/priority?priority=2", headers=BEARER)
        assert up.status_code == 200, up.text
        job = (await http.get(f"{API}/jobs/{ids['waiting']}", headers=BEARER)).json()
        assert job["state"] == "prioritized" and job["priority"] == 2
        body = await http.post(
            f"{API}/jobs/{ids['prioritized']}/priority", json={"priority": 0}, headers=BEARER
        )
        assert body.status_code == 200
        job = (await http.get(f"{API}/jobs/{ids['prioritized']}", headers=BEARER)).json()
        assert job["state"] == "waiting"
        wrong = await http.post(f"{API}/jobs/{ids['delayed']}/priority?priority=1", headers=BEARER)
        assert wrong.status_code == 409
        delay = await http.post(f"{API}/jobs/{ids['delayed']}/delay?delay=5", headers=BEARER)
        assert delay.status_code == 200
        job = (await http.get(f"{API}/jobs/{ids['delayed']}", headers=BEARER)).json()
        assert job["delay"] == 5
        not_delayed = await http.post(f"{API}/jobs/{ids['failed']}/delay?delay=5", headers=BEARER)
        assert not_delayed.status_code == 409
        for query in ("priority=-1", "priority=x", ""):
            bad = await http.post(f"{API}/jobs/{ids['waiting']}/priority?{query}", headers=BEARER)
            assert bad.status_code == 400, query


async def test_duplicate_copies_name_data_and_options(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with bearer_client(server_url) as http:
        copy = await http.post(f"{API}/jobs/{ids['prioritized']}/duplicate", headers=BEARER)
        assert copy.status_code == 200, copy.text
        new = (await http.get(f"{API}/jobs/{copy.json()['id']}", headers=BEARER)).json()
        old = (await http.get(f"{API}/jobs/{ids['prioritized']}", headers=BEARER)).json()
        assert (new["name"], new["data"], new["priority"]) == (old["name"], old["data"], 5)
        assert new["id"] != old["id"]
        missing = await http.post(f"{API}/jobs/nope/duplicate", headers=BEARER)
        assert missing.status_code == 404


async def test_obliterate_needs_pause_name_and_force(server_url: str) -> None:
    ids = await make_jobs(server_url)
    worker = Worker("mail", None, {"connection": server_url, "autorun": False})
    await worker.getNextJob(uuid.uuid4().hex)  # one job active, its lock held
    try:
        async with bearer_client(server_url) as http:
            running = await http.delete(f"{API}?confirm=mail", headers=BEARER)
            assert running.status_code == 409 and "Pause" in running.json()["error"]
            await http.post(f"{API}/pause", headers=BEARER)
            wrong = await http.delete(f"{API}?confirm=Mail", headers=BEARER)
            assert wrong.status_code == 400 and "'mail'" in wrong.json()["error"]
            active = await http.delete(f"{API}?confirm=mail", headers=BEARER)
            assert active.status_code == 409 and "1 active job" in active.json()["error"]
            assert (
                await http.get(f"{API}/jobs/{ids['failed']}", headers=BEARER)
            ).status_code == 200
            forced = await http.delete(f"{API}?confirm=mail&force=1", headers=BEARER)
            assert forced.status_code == 200, forced.text
            assert sum((await counts(http)).values()) == 0
    finally:
        await worker.close(force=True)


async def test_obliterated_queue_leaves_a_scanned_catalog(server_url: str) -> None:
    await make_jobs(server_url)
    await make_jobs(server_url, "other")
    async with make_client(Settings(redis_url=server_url, token="s3cret")) as http:
        await http.post(f"{API}/pause", headers=BEARER)
        gone = await http.delete(f"{API}?confirm=mail", headers=BEARER)
        assert gone.status_code == 200
        names = [
            q["name"]
            for q in (await http.get("/admin/queues/api/queues", headers=BEARER)).json()["queues"]
        ]
        assert names == ["other"]
        assert (await http.get(f"{API}/jobs", headers=BEARER)).status_code == 404


async def test_pause_all_and_resume_all(server_url: str) -> None:
    for name in ("a", "b", "c"):
        await make_jobs(server_url, name)
    async with make_client(Settings(redis_url=server_url, token="s3cret")) as http:
        paused = await http.post("/admin/queues/api/pause-all", headers=BEARER)
        assert paused.json() == {"ok": True, "message": "Paused 3 queues.", "count": 3}
        for name in ("a", "b", "c"):
            assert await Queue(name, {"connection": server_url}).isPaused() is True
        again = await http.post("/admin/queues/api/pause-all", headers=BEARER)
        assert again.json()["count"] == 0
        resumed = await http.post("/admin/queues/api/resume-all", headers=BEARER)
        assert resumed.json()["count"] == 3
        assert await Queue("b", {"connection": server_url}).isPaused() is False


async def test_global_concurrency_and_rate_limit(server_url: str) -> None:
    await make_jobs(server_url)
    queue = Queue("mail", {"connection": server_url})
    async with bearer_client(server_url) as http:
        set_c = await http.post(f"{API}/concurrency?concurrency=4", headers=BEARER)
        assert set_c.status_code == 200
        assert await queue.getGlobalConcurrency() == 4
        set_r = await http.post(f"{API}/rate-limit?max=10&duration=1000", headers=BEARER)
        assert set_r.status_code == 200
        assert await queue.getGlobalRateLimit() == {"max": 10, "duration": 1000}
        page = await http.get("/admin/queues/queue/mail/manage", headers=BEARER)
        assert "at most 4 at once" in page.text and "10 per 1,000 ms" in page.text
        await http.post(f"{API}/concurrency?concurrency=0", headers=BEARER)
        await http.post(f"{API}/rate-limit?max=0", headers=BEARER)
        assert await queue.getGlobalConcurrency() is None
        assert await queue.getGlobalRateLimit() is None
        bad = await http.post(f"{API}/rate-limit?max=5&duration=0", headers=BEARER)
        assert bad.status_code == 400
    await queue.close()


async def test_read_only_refuses_every_change(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with bearer_client(server_url, read_only=True) as http:
        before = await counts(http)
        for method, path, body in [
            ("POST", f"{API}/jobs", {"name": "n", "data": {}}),
            ("PUT", f"{API}/jobs/{ids['waiting']}/data", {"x": 1}),
            ("POST", f"{API}/jobs/{ids['waiting']}/duplicate", None),
            ("POST", f"{API}/jobs/{ids['waiting']}/priority?priority=1", None),
            ("POST", f"{API}/jobs/{ids['delayed']}/delay?delay=1", None),
            ("POST", f"{API}/empty?delayed=1", None),
            ("DELETE", f"{API}?confirm=mail&force=1", None),
            ("POST", f"{API}/concurrency?concurrency=1", None),
            ("POST", f"{API}/rate-limit?max=1&duration=1", None),
            ("POST", "/admin/queues/api/pause-all", None),
            ("POST", "/admin/queues/api/resume-all", None),
        ]:
            answer = await http.request(method, path, json=body, headers=BEARER)
            assert answer.status_code == 403, path
            assert "read-only" in answer.json()["error"]
        assert await counts(http) == before


async def test_forms_from_the_pages(server_url: str) -> None:
    ids = await make_jobs(server_url)
    async with make_client(Settings(redis_url=server_url, queues=("mail",))) as http:
        token = await csrf_token(http)
        htmx = {"X-CSRF-Token": token, "HX-Request": "true"}
        form = {
            "name": "send",
            "data": '{"to": "x@y.z"}',
            "delay": "",
            "priority": "3",
            "attempts": "2",
            "backoffType": "fixed",
            "backoffDelay": "500",
            "jobId": "",
            "removeOnComplete": "true",
            "removeOnFail": "",
        }
        added = await http.post(f"{API}/jobs", data=form, headers=htmx)
        assert added.status_code == 200 and "Added job" in added.text
        broken = await http.post(f"{API}/jobs", data={**form, "data": '{"to": }'}, headers=htmx)
        assert broken.status_code == 400 and "line 1, column 8" in broken.text
        put = await http.put(
            f"{API}/jobs/{ids['failed']}/data", data={"data": '{"fixed": true}'}, headers=htmx
        )
        assert put.status_code == 200 and "Saved" in put.text
        page = await http.get(f"/admin/queues/queue/mail/add?from={ids['prioritized']}")
        assert page.status_code == 200 and "Duplicate job" in page.text
        assert (await http.get("/admin/queues/queue/mail/add?from=nope")).status_code == 404
