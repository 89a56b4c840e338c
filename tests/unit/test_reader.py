"""The reader against hand-built BullMQ layouts (fakeredis: read commands only, no Lua)."""

import json

import fakeredis
import pytest

from dashboard.bullmq.reader import Reader


@pytest.fixture
async def fake() -> fakeredis.FakeAsyncRedis:
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield client
    await client.aclose()


async def add_job(r, queue: str, job_id: str, **fields: object) -> None:
    base = {"name": "send", "data": json.dumps({"n": job_id}), "opts": "{}", "timestamp": 1000}
    await r.hset(f"bull:{queue}:{job_id}", mapping={**base, **fields})


async def test_counts_for_bullmq5_paused_list(fake) -> None:
    await fake.lpush("bull:mail:paused", "1", "2")
    await fake.hset("bull:mail:meta", mapping={"paused": 1})
    await fake.zadd("bull:mail:completed", {"3": 10, "4": 11, "5": 12})
    await fake.lpush("bull:mail:active", "6")
    [summary] = await Reader(fake, "bull").summaries(["mail"])
    assert summary.is_paused
    assert summary.counts == {
        "active": 1,
        "completed": 3,
        "delayed": 0,
        "failed": 0,
        "paused": 2,
        "prioritized": 0,
        "waiting": 0,
        "waiting-children": 0,
    }


async def test_counts_for_bullmq6_meta_paused(fake) -> None:
    await fake.lpush("bull:mail:wait", "1", "2")
    await fake.hset("bull:mail:meta", mapping={"paused": 1})
    [summary] = await Reader(fake, "bull").summaries(["mail"])
    assert summary.is_paused
    assert summary.counts["waiting"] == 2 and summary.counts["paused"] == 0


async def test_pages_are_newest_first(fake) -> None:
    for n in range(1, 8):
        await add_job(fake, "mail", str(n), finishedOn=1000 + n, atm=1)
        await fake.zadd("bull:mail:completed", {str(n): 1000 + n})
    reader = Reader(fake, "bull")
    first = await reader.job_page("mail", "completed", page=1, page_size=3)
    last = await reader.job_page("mail", "completed", page=3, page_size=3)
    assert [job["id"] for job in first.jobs] == ["7", "6", "5"]
    assert [job["id"] for job in last.jobs] == ["1"]
    assert first.total == 7 and first.page_count == 3


async def test_waiting_list_order_is_head_first(fake) -> None:
    for n in range(1, 4):
        await add_job(fake, "mail", str(n))
        await fake.lpush("bull:mail:wait", str(n))  # BullMQ LPUSHes: newest at the head
    page = await Reader(fake, "bull").job_page("mail", "waiting", 1, 10)
    assert [job["id"] for job in page.jobs] == ["3", "2", "1"]


async def test_list_rows_leave_data_in_redis(fake) -> None:
    await add_job(fake, "mail", "1", data=json.dumps({"blob": "x" * 100_000}))
    await fake.zadd("bull:mail:failed", {"1": 5})
    [row] = (await Reader(fake, "bull").job_page("mail", "failed", 1, 10)).jobs
    assert "data" not in row and "returnvalue" not in row


async def test_job_detail_decodes_node_fields(fake) -> None:
    await add_job(
        fake,
        "mail",
        "9",
        opts=json.dumps({"attempts": 3, "kl": 10, "de": {"id": "x"}}),
        atm=2,
        ats=3,
        stc=1,
        progress=json.dumps({"step": 2}),
        failedReason="boom",
        stacktrace=json.dumps(["Error: boom\n    at x"]),
        returnvalue="null",
        parentKey="bull:other:1",
        pb="worker-1",
    )
    await fake.zadd("bull:mail:failed", {"9": 5})
    await fake.rpush("bull:mail:9:logs", "one", "two")
    job = await Reader(fake, "bull").job("mail", "9")
    assert job["state"] == "failed"
    assert job["opts"] == {"attempts": 3, "keepLogs": 10, "deduplication": {"id": "x"}}
    assert (job["attemptsMade"], job["attemptsStarted"], job["stalledCounter"]) == (2, 3, 1)
    assert job["progress"] == {"step": 2}
    assert job["stacktrace"] == ["Error: boom\n    at x"]
    assert job["logs"] == ["one", "two"] and job["logCount"] == 2
    assert job["processedBy"] == "worker-1"


@pytest.mark.parametrize(
    "key, kind, state",
    [
        ("active", "list", "active"),
        ("wait", "list", "waiting"),
        ("paused", "list", "waiting"),
        ("delayed", "zset", "delayed"),
        ("prioritized", "zset", "prioritized"),
        ("waiting-children", "zset", "waiting-children"),
    ],
)
async def test_job_state_like_node_getstate(fake, key: str, kind: str, state: str) -> None:
    await add_job(fake, "mail", "1")
    if kind == "list":
        await fake.lpush(f"bull:mail:{key}", "1")
    else:
        await fake.zadd(f"bull:mail:{key}", {"1": 1})
    assert (await Reader(fake, "bull").job("mail", "1"))["state"] == state


async def test_missing_job_is_none(fake) -> None:
    assert await Reader(fake, "bull").job("mail", "nope") is None


async def test_vanished_ids_are_skipped(fake) -> None:
    await fake.zadd("bull:mail:completed", {"gone": 1})
    page = await Reader(fake, "bull").job_page("mail", "completed", 1, 10)
    assert page.jobs == [] and page.total == 1
