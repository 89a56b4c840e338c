"""Select and act: retry, promote or remove the jobs ticked on a queue page, through the JSON
API on real servers, checked against BullMQ's own view of the jobs."""

from __future__ import annotations

import uuid

import httpx
import pytest
import redis.asyncio as aioredis
from bullmq import Job, Queue, Worker

from dashboard.config import Settings
from dashboard.redis_client.connection import connect
from dashboard.writes import batched
from tests.helpers import add_jobs, csrf_token, make_client, round_trips

BEARER = {"Authorization": "Bearer s3cret"}
API = "/admin/queues/api/queues/mail/selected"
# Queue {t1}: a name with a hash tag, as queues on a Redis Cluster have.
TAGGED = "/admin/queues/api/queues/%7Bt1%7D"


def bearer_client(url: str, **settings: object) -> httpx.AsyncClient:
    return make_client(Settings(redis_url=url, token="s3cret", **settings))


async def fill(
    url: str, failed: int = 3, delayed: int = 2, waiting: int = 1
) -> dict[str, list[str]]:
    """Failed, delayed and waiting jobs in queue "mail", made by bullmq; their ids by state."""
    queue = Queue("mail", {"connection": url})
    worker = Worker("mail", None, {"connection": url, "autorun": False})
    token = uuid.uuid4().hex
    ids: dict[str, list[str]] = {"failed": [], "delayed": [], "waiting": []}
    for n in range(failed):
        await queue.add("send", {"n": n})
        job = await worker.getNextJob(token)
        try:
            raise ValueError("mailbox full")
        except ValueError as err:
            await job.moveToFailed(err, token)
        ids["failed"].append(job.id)
    for n in range(delayed):
        ids["delayed"].append((await queue.add("later", {"n": n}, {"delay": 600_000})).id)
    for _ in range(waiting):
        ids["waiting"].append((await queue.add("now", {})).id)
    await worker.close(force=True)
    await queue.close()
    return ids


async def states(url: str, ids: list[str]) -> list[str | None]:
    """Each job's state as the bullmq package reads it (None: gone)."""
    queue = Queue("mail", {"connection": url})
    found = []
    for job_id in ids:
        job = await Job.fromId(queue, job_id)
        found.append(None if job is None else await job.getState())
    await queue.close()
    return found


async def test_retry_the_selected_failed_jobs(server_url: str) -> None:
    ids = await fill(server_url)
    picked = ids["failed"][:2]
    async with bearer_client(server_url) as http:
        answer = await http.post(API, headers=BEARER, json={"action": "retry", "ids": picked})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ok": True,
        "message": "Retried 2 selected jobs.",
        "count": 2,
        "failed": [],
    }
    assert await states(server_url, ids["failed"]) == ["waiting", "waiting", "failed"]


async def test_promote_and_remove_the_selected(server_url: str) -> None:
    ids = await fill(server_url)
    async with bearer_client(server_url) as http:
        promoted = await http.post(
            API, headers=BEARER, json={"action": "promote", "ids": ids["delayed"]}
        )
        assert promoted.json()["count"] == 2, promoted.text
        removed = await http.post(
            API, headers=BEARER, json={"action": "remove", "ids": ids["failed"] + ids["waiting"]}
        )
        assert removed.json()["message"] == "Removed 4 selected jobs.", removed.text
    assert await states(server_url, ids["delayed"]) == ["waiting", "waiting"]
    assert await states(server_url, ids["failed"] + ids["waiting"]) == [None] * 4


async def test_a_wrong_state_or_gone_job_refuses_all_and_changes_nothing(server_url: str) -> None:
    ids = await fill(server_url)
    picked = [*ids["failed"], ids["waiting"][0], "no-such-job"]
    async with bearer_client(server_url) as http:
        answer = await http.post(API, headers=BEARER, json={"action": "retry", "ids": picked})
        assert answer.status_code == 409
        assert answer.json()["error"] == (
            f"Nothing was retried: job {ids['waiting'][0]} is waiting, job no-such-job no "
            "longer exists; only failed or completed jobs retry. Reload the page and select "
            "again."
        )
        promote = await http.post(
            API, headers=BEARER, json={"action": "promote", "ids": ids["failed"]}
        )
        assert promote.status_code == 409
        assert "Nothing was promoted: jobs" in promote.json()["error"]
    assert await states(server_url, ids["failed"]) == ["failed"] * 3


async def test_an_active_job_is_not_removed_nor_any_other(server_url: str) -> None:
    ids = await fill(server_url)
    worker = Worker("mail", None, {"connection": server_url, "autorun": False})
    active = await worker.getNextJob(uuid.uuid4().hex)
    try:
        async with bearer_client(server_url) as http:
            answer = await http.post(
                API, headers=BEARER, json={"action": "remove", "ids": [ids["failed"][0], active.id]}
            )
        assert answer.status_code == 409
        assert f"job {active.id} is active" in answer.json()["error"]
        assert await states(server_url, [ids["failed"][0], active.id]) == ["failed", "active"]
    finally:
        await worker.close(force=True)


async def test_bad_selections_get_one_sentence(server_url: str) -> None:
    await fill(server_url, failed=1, delayed=0)
    bodies = [
        ({"action": "retry", "ids": []}, "at least one"),
        ({"action": "retry"}, "at least one"),
        ({"action": "explode", "ids": ["1"]}, "action must be one of retry, promote, remove"),
        ({"action": "retry", "ids": [1]}, "must be a string"),
        ({"action": "retry", "ids": [str(n) for n in range(201)]}, "at most 200 jobs"),
        (["retry"], "at least one"),
    ]
    async with bearer_client(server_url) as http:
        for body, words in bodies:
            answer = await http.post(API, headers=BEARER, json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert words in answer.json()["error"], (body, answer.text)
        text = await http.post(API, headers=BEARER, content="ids=1", params={"action": "retry"})
        assert text.status_code == 400 and "as JSON" in text.json()["error"]
        broken = await http.post(
            API, headers={**BEARER, "content-type": "application/json"}, content=b"{\xff"
        )
        assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
        surrogate = await http.post(
            API,
            headers={**BEARER, "content-type": "application/json"},
            content=b'{"action": "retry", "ids": ["\\ud800"]}',
        )
        assert surrogate.status_code == 400 and "surrogate" in surrogate.json()["error"]


async def test_read_only_and_csrf_as_the_other_actions(server_url: str) -> None:
    ids = await fill(server_url, failed=1, delayed=0)
    body = {"action": "retry", "ids": ids["failed"]}
    async with bearer_client(server_url, read_only=True) as http:
        refused = await http.post(API, headers=BEARER, json=body)
        assert refused.status_code == 403 and "read-only" in refused.json()["error"]
    settings = Settings(redis_url=server_url, username="ann", password="pw-long-enough-1")
    async with make_client(settings) as http:
        login = await http.post(
            "/admin/queues/login",
            data={"username": "ann", "password": "pw-long-enough-1", "next": "/admin/queues/"},
        )
        assert login.status_code == 303
        token = await csrf_token(http)
        browser = {"hx-request": "true", "origin": "http://testserver"}
        no_token = await http.post(API, headers=browser, json=body)
        assert no_token.status_code == 403 and "CSRF" in no_token.text
        done = await http.post(API, headers={**browser, "x-csrf-token": token}, json=body)
        assert done.status_code == 200 and "Retried 1 selected job." in done.text
    assert await states(server_url, ids["failed"]) == ["waiting"]


@pytest.mark.parametrize(
    ("action", "state", "after"),
    [
        ("retry", "failed", "waiting"),
        ("promote", "delayed", "waiting"),
        ("remove", "waiting", None),
    ],
)
async def test_a_selection_takes_the_same_round_trips_whatever_its_size(
    server_url: str, action: str, state: str, after: str | None
) -> None:
    """Its states read in one round trip, every job's script call in one more, and the audit
    trail's entry, as any action writes: 3, for 5 jobs as for 25. The first selection after
    the scripts were flushed pays for loading them once: their calls go again."""
    ids = await fill(server_url, failed=30, delayed=30, waiting=30)
    r = aioredis.Redis.from_url(server_url)
    await r.script_flush()
    await r.aclose()
    picked = ids[state]
    async with bearer_client(server_url) as http:
        await http.get("/admin/queues/api/queues", headers=BEARER)  # the connections made
        trips = []
        for some in (picked[:5], picked[5:10], picked[10:]):
            with round_trips() as counted:
                answer = await http.post(API, headers=BEARER, json={"action": action, "ids": some})
            assert answer.json()["count"] == len(some), answer.text
            trips.append(counted[0])
    # Then: states, scripts (NOSCRIPT), SCRIPT LOAD, the scripts again, the audit entry.
    assert trips == [5, 3, 3]
    assert await states(server_url, picked) == [after] * 30


async def test_a_job_that_moved_meanwhile_is_named_with_why(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """States read, then, before the scripts run, one job removed and one retried by someone
    else: the others are retried, and the answer says which two were not, and why."""
    ids = await fill(server_url, failed=5, delayed=0)
    gone, moved = ids["failed"][:2]
    send = batched.send

    async def someone_else_first(client: object, calls: list[batched.Call]) -> list[object]:
        queue = Queue("mail", {"connection": server_url})
        await queue.remove(gone)
        await (await Job.fromId(queue, moved)).retry("failed")
        await queue.close()
        return await send(client, calls)  # type: ignore[arg-type]

    monkeypatch.setattr(batched, "send", someone_else_first)
    async with bearer_client(server_url) as http:
        answer = await http.post(
            API, headers=BEARER, json={"action": "retry", "ids": ids["failed"]}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ok": True,
        "message": f"Retried 3 of 5 selected jobs; not retried (changed meanwhile): job {gone}: "
        f"no longer exists; job {moved}: no longer failed.",
        "count": 3,
        "failed": [
            {"id": gone, "reason": "no longer exists"},
            {"id": moved, "reason": "no longer failed"},
        ],
    }
    assert await states(server_url, ids["failed"]) == [None] + ["waiting"] * 4


async def test_on_a_cluster_the_scripts_go_to_the_queue_node_at_once(cluster_url: str) -> None:
    """A queue named with a hash tag keeps its keys in one slot: the states read and the
    scripts each take one round trip to the node holding it, then the audit entry's."""
    rc = connect(cluster_url, cluster=True)
    await add_jobs(rc, "bull", "{t1}", 25, delay=3_600_000)
    async with bearer_client(cluster_url) as http:
        page = await http.get(f"{TAGGED}/jobs?status=delayed&pageSize=25", headers=BEARER)
        ids = [job["id"] for job in page.json()["jobs"]]
        first = await http.post(
            f"{TAGGED}/selected", headers=BEARER, json={"action": "promote", "ids": ids[:5]}
        )
        assert first.json()["count"] == 5, first.text  # the script loaded on first use
        with round_trips() as trips:
            answer = await http.post(
                f"{TAGGED}/selected", headers=BEARER, json={"action": "promote", "ids": ids[5:]}
            )
        assert answer.json()["count"] == 20, answer.text
        assert trips == [3]
        counts = (await http.get(f"{TAGGED}/jobs?status=waiting", headers=BEARER)).json()
        assert counts["total"] == 25
    await rc.aclose()


async def test_a_schedulers_next_job_is_not_removed_and_the_answer_says_why(
    server_url: str,
) -> None:
    """BullMQ's removeJob script keeps a job scheduler's pending job (it answers -8): the other
    selected jobs go, and that one is named with the way to remove it."""
    ids = await fill(server_url, failed=2, delayed=0, waiting=0)
    queue = Queue("mail", {"connection": server_url})
    await queue.upsertJobScheduler("new-year", {"pattern": "0 0 1 1 *"}, "tick")
    [scheduled] = await queue.getJobs(["delayed"])
    await queue.close()
    picked = [*ids["failed"], scheduled.id]
    async with bearer_client(server_url) as http:
        answer = await http.post(API, headers=BEARER, json={"action": "remove", "ids": picked})
    assert answer.json()["count"] == 2, answer.text
    assert answer.json()["failed"] == [
        {"id": scheduled.id, "reason": "a job scheduler's next job; remove the scheduler instead"}
    ]
    assert await states(server_url, picked) == [None, None, "delayed"]
