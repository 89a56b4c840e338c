"""Search on real servers: by id across queues, by name or text within a state, and its cost."""

from __future__ import annotations

import uuid

import redis
from bullmq import Queue, Worker

from dashboard.config import Settings
from tests.helpers import make_client, make_jobs

API = "/admin/queues/api"


class Meter:
    """INFO commandstats calls per command: what Redis executed, inside scripts too. Its own
    connection is opened once, so the handshake is not counted; its INFO calls are left out."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.before = self.read()

    def read(self) -> dict[str, int]:
        stats = self.client.info("commandstats")
        return {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}

    def spent(self) -> dict[str, int]:
        after = self.read()
        self.client.close()
        diff = {k: n - self.before.get(k, 0) for k, n in after.items()}
        return {k: n for k, n in diff.items() if n and k != "info"}


async def finished_jobs(url: str, count: int, queue_name: str = "reports") -> list[str]:
    """`count` completed jobs, newest last; job i holds `rpt_<i>` in its data and every 7th one
    fails with a reason naming its tenant."""
    opts = {"connection": url}
    queue = Queue(queue_name, opts)
    worker = Worker(queue_name, None, {**opts, "autorun": False})
    token = uuid.uuid4().hex
    ids = []
    try:
        for i in range(count):
            name = "export" if i % 2 else "import"
            await queue.add(name, {"report": f"rpt_{i:04d}", "tenant": f"T{i % 3}"})
            job = await worker.getNextJob(token)
            if i % 7 == 0:
                try:
                    raise RuntimeError(f"Quota exceeded for tenant T{i % 3}")
                except RuntimeError as err:
                    await job.moveToFailed(err, token)
            else:
                await job.moveToCompleted({"rows": i * 10, "file": f"out-{i}.csv"}, token)
            ids.append(job.id)
    finally:
        await worker.close(force=True)
        await queue.close()
    return ids


async def test_id_search_spans_queues_in_one_round_trip(server_url: str) -> None:
    mail = await make_jobs(server_url, "mail")
    await make_jobs(server_url, "billing")
    queues = ("mail", "billing", "empty-1", "empty-2")
    async with make_client(Settings(redis_url=server_url, queues=queues)) as http:
        answer = await http.get(f"{API}/search", params={"id": mail["failed"]})
        assert answer.status_code == 200
        hits = {hit["queue"]: hit for hit in answer.json()["jobs"]}
        assert set(hits) == {"mail", "billing"}  # both queues handed out the same ids
        assert hits["mail"] == {
            "queue": "mail",
            "id": mail["failed"],
            "state": "failed",
            "name": "welcome",
            "connection": None,
        }
        for state in ("waiting", "delayed", "prioritized", "completed"):
            found = (await http.get(f"{API}/search", params={"id": mail[state]})).json()["jobs"]
            assert [hit["state"] for hit in found] == [state, state], state

        meter = Meter(server_url)
        missing = await http.get(f"{API}/search", params={"id": "no-such-job"})
        assert missing.json() == {"jobs": []}
        cost = meter.spent()
        # A miss costs the script and one HMGET per queue, whatever the queues hold.
        assert cost == {"evalsha": len(queues), "hmget": len(queues)}

        for bad in ("", "   "):
            refused = await http.get(f"{API}/search", params={"id": bad})
            assert refused.status_code == 400 and "id" in refused.json()["error"]
        too_long = await http.get(f"{API}/search", params={"id": "x" * 1001})
        assert too_long.status_code == 400


async def test_top_bar_search_jumps_to_a_single_match(server_url: str) -> None:
    ids = await make_jobs(server_url, "mail")
    odd = (await Queue("billing", {"connection": server_url}).add("x", {}, {"jobId": "a/b c"})).id
    async with make_client(Settings(redis_url=server_url)) as http:
        jump = await http.get("/admin/queues/search", params={"id": odd})
        assert jump.status_code == 303
        assert jump.headers["location"] == "/admin/queues/queue/billing/jobs/a%2Fb%20c"
        none = await http.get("/admin/queues/search", params={"id": "nope"})
        assert none.status_code == 200 and "No queue has a job with this id" in none.text
        await make_jobs(server_url, "billing")
        many = await http.get("/admin/queues/search", params={"id": ids["failed"]})
        assert many.status_code == 200
        assert 'data-queue="mail"' in many.text and 'data-queue="billing"' in many.text


async def test_text_search_walks_a_state_slice_by_slice(server_url: str) -> None:
    await finished_jobs(server_url, 40)
    async with make_client(Settings(redis_url=server_url)) as http:
        url = f"{API}/queues/reports/search"
        # Every completed job once, newest first, in slices of 7, whatever the cursor crosses.
        seen, cursor, slices = [], "0", 0
        while cursor is not None:
            query = {"status": "completed", "cursor": cursor, "budget": 7}
            answer = await http.get(url, params=query)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["scanned"] <= 7 and body["commands"] <= 7 + 3
            seen += [job["id"] for job in body["jobs"]]
            cursor, slices = body["cursor"], slices + 1
        listed = await http.get(
            f"{API}/queues/reports/jobs", params={"status": "completed", "pageSize": 200}
        )
        assert seen == [job["id"] for job in listed.json()["jobs"]]
        assert slices == -(-len(seen) // 7)

        # Text in data, case-insensitive; one job holds it.
        hit = (await http.get(url, params={"status": "completed", "data": "RPT_0013"})).json()
        assert [job["name"] for job in hit["jobs"]] == ["export"] and hit["cursor"] is None
        # Text in the return value, and a name filter beside it.
        rv = (await http.get(url, params={"status": "completed", "data": "out-20.csv"})).json()
        assert len(rv["jobs"]) == 1
        named = (await http.get(url, params={"status": "completed", "name": "IMPORT"})).json()
        assert named["jobs"] and {job["name"] for job in named["jobs"]} == {"import"}
        # Text in the failed reason.
        failed = (await http.get(url, params={"status": "failed", "data": "tenant t1"})).json()
        assert failed["jobs"] and all("T1" in job["failedReason"] for job in failed["jobs"])


async def test_search_stops_at_a_page_of_matches(server_url: str) -> None:
    await finished_jobs(server_url, 30)
    async with make_client(Settings(redis_url=server_url)) as http:
        url = f"{API}/queues/reports/search"
        params = {"status": "completed", "name": "export", "pageSize": 3}
        first = (await http.get(url, params=params)).json()
        assert len(first["jobs"]) == 3
        assert first["scanned"] < 10  # it stopped at the third match, well inside its budget
        assert first["cursor"] == str(first["scanned"])
        more = (await http.get(url, params={**params, "cursor": first["cursor"]})).json()
        assert not {j["id"] for j in more["jobs"]} & {j["id"] for j in first["jobs"]}


async def test_search_cost_is_bounded_by_the_budget(server_url: str) -> None:
    await finished_jobs(server_url, 60)
    async with make_client(Settings(redis_url=server_url, queues=("reports",))) as http:
        url = f"{API}/queues/reports/search"
        await http.get(url, params={"status": "completed", "budget": 1})  # loads the script
        meter = Meter(server_url)
        body = (
            await http.get(url, params={"status": "completed", "data": "nowhere", "budget": 25})
        ).json()
        cost = meter.spent()
        assert body["scanned"] == 25 and body["jobs"] == []
        assert sum(cost.values()) == body["commands"] == 25 + 3
        assert cost == {"evalsha": 1, "zcard": 1, "zrevrange": 1, "hmget": 25}


async def test_search_refuses_bad_parameters(server_url: str) -> None:
    await finished_jobs(server_url, 3)
    async with make_client(Settings(redis_url=server_url)) as http:
        url = f"{API}/queues/reports/search"
        for query in (
            {"budget": "5001"},
            {"budget": "0"},
            {"budget": "many"},
            {"cursor": "-1"},
            {"cursor": "1e3"},
            {"status": "gone"},
            {"data": "x" * 1001},
            {"pageSize": "201"},
        ):
            answer = await http.get(url, params=query)
            assert answer.status_code == 400, query
            assert answer.json()["status"] == 400
        unknown = await http.get(f"{API}/queues/nope/search")
        assert unknown.status_code == 404
        past_end = (await http.get(url, params={"status": "completed", "cursor": "99"})).json()
        assert past_end == {
            "jobs": [],
            "cursor": None,
            "scanned": 0,
            "commands": 2,  # the script and the size: no range past the end
            "searched": 2,
            "total": 2,
        }


async def test_search_page_and_its_next_slice(server_url: str) -> None:
    await finished_jobs(server_url, 30)
    async with make_client(Settings(redis_url=server_url)) as http:
        page = await http.get(
            "/admin/queues/queue/reports/search",
            params={"status": "completed", "data": "rpt_", "budget": 10},
        )
        assert page.status_code == 200
        assert page.text.count("<tr data-job-id") == 10
        assert "Searched <strong" in page.text and "Search further" in page.text
        more = await http.get(
            "/admin/queues/queue/reports/search",
            params={"status": "completed", "data": "rpt_", "budget": 10, "cursor": 10},
            headers={"HX-Request": "true"},
        )
        assert more.status_code == 200
        assert "<html" not in more.text
        assert more.text.count("<tr data-job-id") == 10
        assert 'hx-swap-oob="true"' in more.text and 'data-searched="20"' in more.text


async def test_ids_that_spell_other_keys_are_no_jobs(server_url: str) -> None:
    await finished_jobs(server_url, 4)
    client = redis.Redis.from_url(server_url)
    # Hostile members: ids that spell the queue's own list and meta keys.
    client.zadd("bull:reports:completed", {"wait": 1, "meta": 2})
    client.lpush("bull:reports:wait", "x")
    client.close()
    async with make_client(Settings(redis_url=server_url)) as http:
        found = await http.get(f"{API}/queues/reports/search", params={"status": "completed"})
        assert found.status_code == 200
        ids = [job["id"] for job in found.json()["jobs"]]
        assert "wait" not in ids and "meta" not in ids and len(ids) == 3
        for job_id in ("meta", "wait", "1:logs"):
            answer = await http.get(f"{API}/search", params={"id": job_id})
            assert answer.json() == {"jobs": []}, job_id
