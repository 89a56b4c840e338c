"""The shared change watcher on real servers: wakes on BullMQ events, costs nothing unwatched,
coalesces a busy queue's events into one notice per interval, and keeps exact counts by
re-reading only the states the events name."""

from __future__ import annotations

import asyncio
import itertools
import time

import redis.asyncio as aioredis
from bullmq import Queue, Worker

from dashboard.bullmq.reader import Reader
from dashboard.live.watcher import Subscription
from tests.helpers import watcher_for


async def notices(subscription: Subscription, into: list[float]) -> None:
    while True:
        await subscription.changed.wait()
        subscription.changed.clear()
        into.append(time.monotonic())


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def calls(r: aioredis.Redis, command: str) -> int:
    return (await r.info("commandstats")).get(f"cmdstat_{command}", {}).get("calls", 0)


async def test_a_new_job_wakes_only_its_queues_subscribers(r, server_url: str) -> None:
    watcher = watcher_for(server_url, ("mail", "sms"))
    async with watcher.subscribe("mail") as mail, watcher.subscribe("sms") as sms:
        await asyncio.sleep(0.2)
        mail.changed.clear()  # the start notice: pages compare once with the counts just read
        sms.changed.clear()
        queue = Queue("mail", {"connection": server_url})
        await queue.add("hello", {})
        await queue.close()
        await asyncio.wait_for(mail.changed.wait(), 3)
        assert not sms.changed.is_set()
    assert not watcher.running


async def test_idle_watching_costs_one_blocking_read(own_server_url: str) -> None:
    server_url = own_server_url
    r = aioredis.Redis.from_url(server_url, decode_responses=True)
    names = ("a", "b", "c", "d", "e")
    for name in names:  # real queues: their event streams hold BullMQ's entries
        queue = Queue(name, {"connection": server_url})
        await queue.add("x", {})
        await queue.close()
    watcher = watcher_for(server_url, names, block_ms=60_000)
    before = {c: await calls(r, c) for c in ("xread", "xrevrange")}
    async with watcher.subscribe():
        await asyncio.sleep(1.0)
        # Where the five streams stand (once), then one XREAD blocked for up to a minute.
        assert watcher.commands_per_minute() == 5 + 1
    assert await calls(r, "xrevrange") - before["xrevrange"] == 5
    # An XREAD abandoned while blocked is not in commandstats; a finished one would be one.
    assert await calls(r, "xread") - before["xread"] <= 1
    after = {c: await calls(r, c) for c in ("xread", "xrevrange")}
    await asyncio.sleep(0.5)
    assert {c: await calls(r, c) for c in after} == after  # nobody watching: nothing at all
    await r.aclose()


async def test_trimmed_event_stream_still_wakes(r, server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    await queue.add("first", {})
    await r.xtrim("bull:mail:events", maxlen=0)
    watcher = watcher_for(server_url, ("mail",))
    async with watcher.subscribe() as sub:
        await asyncio.sleep(0.2)
        await queue.add("second", {})
        await asyncio.wait_for(sub.changed.wait(), 3)
    await queue.close()


async def test_stream_kept_empty_still_wakes(r, server_url: str) -> None:
    """Events effectively disabled: every entry trimmed as it is added (exact MAXLEN 0)."""
    await r.xadd("bull:mail:events", {"event": "added"}, maxlen=0, approximate=False)
    # Valkey only notices such a stream once per blocking period: keep that short here.
    watcher = watcher_for(server_url, ("mail",), block_ms=500)
    async with watcher.subscribe() as sub:
        await asyncio.sleep(0.2)
        await r.xadd("bull:mail:events", {"event": "completed"}, maxlen=0, approximate=False)
        await asyncio.wait_for(sub.changed.wait(), 3)
        sub.changed.clear()
        await r.xadd("bull:mail:events", {"event": "failed"}, maxlen=0, approximate=False)
        await asyncio.wait_for(sub.changed.wait(), 3)


async def test_a_busy_queue_gets_one_notice_per_interval(r, server_url: str) -> None:
    """Jobs added every 20 ms for 1.5 s: without coalescing, ~75 notices; with a 0.5 s
    interval, notices are at least that far apart, so at most 1.5 / 0.5 + 1 of them."""
    watcher = watcher_for(server_url, ("mail",), interval_s=0.5)
    seen: list[float] = []
    queue = Queue("mail", {"connection": server_url})
    async with watcher.subscribe("mail") as sub:
        counter = asyncio.create_task(notices(sub, seen))
        # The start notice: pages compare once with the counts just read.
        await until(lambda: _true(len(seen) == 1))
        seen.clear()
        started = time.monotonic()
        for i in range(75):
            await queue.add("burst", {"i": i})
            await asyncio.sleep(0.02)
        last_added = time.monotonic()
        busy = last_added - started
        # The tail of the burst is told too, in the next notice.
        await until(lambda: _true(bool(seen) and seen[-1] >= last_added), timeout=5)
        told = seen[:]
        counter.cancel()
    await queue.close()
    assert 2 <= len(told) <= (told[-1] - started) / 0.5 + 1
    assert len(told) < 75 / 5 and busy > 1.4
    gaps = [b - a for a, b in itertools.pairwise(told)]
    assert all(gap >= 0.45 for gap in gaps), gaps


async def _true(value: bool) -> bool:
    return value


async def test_kept_counts_follow_a_worker_with_partial_reads(r, server_url: str) -> None:
    """A Python bullmq worker completes and fails jobs, some after a delayed retry: the counts
    the watcher keeps equal a full read, and most refreshes read fewer than nine counts."""
    names = ("mail",)
    watcher = watcher_for(server_url, names, counts=True, interval_s=0.1)
    reader = Reader(r, "bull")
    queue = Queue("mail", {"connection": server_url})

    async def process(job, token):
        if job.data["fail"]:
            raise ValueError("no")
        return "ok"

    async with watcher.subscribe("mail"):
        await until(lambda: _true(watcher.counts("mail") is not None))
        spent_at_start = watcher.commands_per_minute()
        for i in range(12):
            opts = {"attempts": 2, "backoff": {"type": "fixed", "delay": 50}} if i % 3 else {}
            await queue.add("mixed", {"fail": i % 2 == 0}, opts)
        await queue.add("prio", {"fail": False}, {"priority": 3})
        await queue.add("later", {"fail": False}, {"delay": 200})
        worker = Worker("mail", process, {"connection": server_url})

        async def settled() -> bool:
            (truth,) = await reader.summaries(["mail"])
            kept = watcher.counts("mail")
            done = truth.counts["completed"] + truth.counts["failed"] == 14
            return done and kept is not None and kept.counts == truth.counts

        await until(settled, timeout=20)
        await worker.close()
        spent = watcher.commands_per_minute() - spent_at_start
        refreshes = watcher.changes_per_minute(
            None
        )  # the start-up catch-up is not counted as a change
    await queue.close()
    # Each refresh: one XREAD plus fewer than the nine commands of a full read.
    assert refreshes >= 2
    assert spent < refreshes * 9


async def test_job_subscription_hears_only_its_job(r, server_url: str) -> None:
    queue = Queue("mail", {"connection": server_url})
    mine = await queue.add("mine", {})
    watcher = watcher_for(server_url, ("mail",))
    async with watcher.subscribe("mail", mine.id) as sub, watcher.subscribe("mail") as every:
        await until(lambda: _true(watcher.running))
        await asyncio.sleep(0.3)
        sub.changed.clear()
        every.changed.clear()
        await queue.add("other", {})
        await asyncio.wait_for(every.changed.wait(), 3)
        await asyncio.sleep(0.2)
        assert not sub.changed.is_set()
        await queue.remove(mine.id)
        await asyncio.wait_for(sub.changed.wait(), 3)
    await queue.close()


async def test_a_listener_among_some_queues_hears_only_them(server_url: str) -> None:
    client = aioredis.Redis.from_url(server_url, decode_responses=True)
    for name in ("mail", "sms"):
        await Queue(name, {"connection": client}).add("x", {})
    watcher = watcher_for(server_url, ("mail", "sms"), counts=True)
    async with watcher.subscribe(among=frozenset({"sms"})) as overview:
        await asyncio.wait_for(overview.changed.wait(), 15)  # the start notice
        overview.take()
        await Queue("mail", {"connection": client}).add("x", {})
        await Queue("sms", {"connection": client}).add("x", {})
        await asyncio.wait_for(overview.changed.wait(), 15)
        assert overview.take() == {"sms"}
        assert watcher.counts("mail") is None and watcher.counts("sms") is not None
    await client.aclose()


def record_reads(watcher, monkeypatch) -> list[tuple[float, dict]]:
    """Each count read the watcher makes: when, and what it asked for (None: a full read)."""
    reads: list[tuple[float, dict]] = []
    real = watcher.reader.recount

    async def recording(wanted):
        reads.append((time.monotonic(), dict(wanted)))
        return await real(wanted)

    monkeypatch.setattr(watcher.reader, "recount", recording)
    return reads


async def _traffic(server_url: str, seconds: float, **opts) -> None:
    """A job added every 50 ms and completed by a worker, for `seconds`."""
    queue = Queue("mail", {"connection": server_url})
    worker = Worker("mail", lambda job, token: _true(True), {"connection": server_url})
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await queue.add("busy", {}, dict(opts))
        await asyncio.sleep(0.05)
    await worker.close()
    await queue.close()


async def test_re_reads_of_states_that_do_not_drift_back_off(server_url: str, monkeypatch) -> None:
    """While busy, completed and the wait/prioritized split are re-read every `recount_s`, as
    removeOnComplete trims with no event; a queue whose re-reads keep finding the counts as the
    events left them is re-read ever less often (here up to 1.2 s), one that trims is not."""
    watcher = watcher_for(server_url, ("mail",), counts=True, recount_s=0.2, recount_max_s=1.2)
    reads = record_reads(watcher, monkeypatch)
    async with watcher.subscribe("mail"):
        await until(lambda: _true(watcher.counts("mail") is not None))
        counted: dict[str, int] = {}
        for trims in (False, True):
            start = len(reads)
            await _traffic(server_url, 4, removeOnComplete=trims)
            counted[f"trims={trims}"] = sum(
                1 for _, wanted in reads[start:] if "completed" in (wanted.get("mail") or ())
            )
    # Every 0.2 s over 4 s: ~20 reads. Backed off (0.2, 0.4, 0.8, 1.2, 1.2...): ~6, however late
    # the events arrive on a loaded machine (a read ahead of them is not drift).
    assert counted["trims=False"] <= 10 and counted["trims=True"] >= 12, counted


async def test_a_queue_whose_settling_reads_find_nothing_waits_longer(
    r, server_url: str, monkeypatch
) -> None:
    """A job every 0.5 s: the full read once traffic stops (settle_s, 0.2 s) would come after
    every job. Those reads find nothing the events had not said, so the quiet time a read
    waits for doubles (0.4, 0.8 s) past the gap between jobs: no more of them until traffic
    really stops. Then one comes within settle_max_s, and catches what moved with no event."""
    # A wake from idle waits coalesce_s for the rest of a burst: short here, as settle_s is.
    watcher = watcher_for(
        server_url, ("mail",), counts=True, settle_s=0.2, settle_max_s=0.8, coalesce_s=0.05
    )
    reads = record_reads(watcher, monkeypatch)
    queue = Queue("mail", {"connection": server_url})
    reader = Reader(r, "bull")
    async with watcher.subscribe("mail"):
        await until(lambda: _true(watcher.counts("mail") is not None))
        start = len(reads)
        for i in range(10):
            await queue.add("sometimes", {"i": i})
            await asyncio.sleep(0.5 if i < 9 else 0)
        await queue.drain()  # no event: only the settling read can see it
        drained_at = time.monotonic()
        full = sum(1 for _, wanted in reads[start:] if wanted.get("mail", ()) is None)

        async def exact() -> bool:
            (truth,) = await reader.summaries(["mail"])
            kept = watcher.counts("mail")
            return kept is not None and kept.counts == truth.counts

        await until(exact, timeout=5)
        caught_after = time.monotonic() - drained_at
    await queue.close()
    assert full <= 3, full  # after the first jobs only; one a job without the back-off: ~10
    assert caught_after < 0.8 + 0.5, caught_after
