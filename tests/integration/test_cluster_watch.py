"""The live watcher on a real three-node Redis Cluster: one blocking XREAD per slot of streams
(a single one under the `{bull}` prefix, wherever the node), and a change wakes the page."""

from __future__ import annotations

import asyncio

from bullmq import Queue
from redis.asyncio.cluster import RedisCluster

from dashboard.bullmq.discovery import QueueCatalog
from dashboard.live.watcher import ChangeWatcher, stream_groups
from dashboard.redis_client.connection import connect


def cluster_watcher(url: str, prefix: str, queues: tuple[str, ...]) -> ChangeWatcher:
    catalog = QueueCatalog(connect(url, cluster=True), prefix, queues, cluster=True)
    return ChangeWatcher(
        lambda timeout: connect(url, timeout, cluster=True, blocking=True),
        catalog,
        prefix,
        interval_s=0.05,
    )


async def xread_calls(rc: RedisCluster) -> int:
    stats = await rc.info("commandstats", target_nodes=RedisCluster.PRIMARIES)
    return sum(node.get("cmdstat_xread", {}).get("calls", 0) for node in stats.values())


async def add(rc: RedisCluster, prefix: str, queue: str) -> None:
    await Queue(queue, {"connection": rc, "prefix": prefix}).add("x", {})


async def blocked_reads(watcher: ChangeWatcher, commands: int, timeout: float = 30) -> None:
    """Wait (no fixed sleep: the machine may be loaded) until the watcher has sent `commands`
    commands, the last being its blocking reads; then give the XREADs a moment to block."""
    deadline = asyncio.get_running_loop().time() + timeout
    while watcher.commands_per_minute() < commands:
        assert asyncio.get_running_loop().time() < deadline, watcher.commands_per_minute()
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)


def test_streams_are_grouped_by_slot() -> None:
    assert stream_groups("bull", ["a", "b"], cluster=False) == [["a", "b"]]
    assert stream_groups("{bull}", ["a", "b", "c"], cluster=True) == [["a", "b", "c"]]
    # Queues sharing a tag ({t1} and {t1}x) share a slot, and so one read.
    tagged = stream_groups("bull", ["{t1}", "{t2}", "{t1}x"], cluster=True)
    assert sorted(tagged) == [["{t1}", "{t1}x"], ["{t2}"]]


async def test_bull_prefix_watches_the_cluster_with_one_xread(cluster_url: str) -> None:
    rc = connect(cluster_url, cluster=True)
    queues = ("mail", "sms", "push")
    for queue in queues:
        await add(rc, "{bull}", queue)
    watcher = cluster_watcher(cluster_url, "{bull}", queues)
    before = await xread_calls(rc)
    async with watcher.subscribe("sms") as sms, watcher.subscribe("mail") as mail:
        await blocked_reads(watcher, 3)
        # Where the two followed streams stand, then one XREAD for both (push is not followed).
        assert watcher.commands_per_minute() == 3
        sms.changed.clear()  # the start notice: pages compare once with where the queues stand
        mail.changed.clear()
        await add(rc, "{bull}", "sms")
        await asyncio.wait_for(sms.changed.wait(), 15)
        assert not mail.changed.is_set()
    # The woken XREAD, and the next one if Redis counted it as it was abandoned: one read
    # for all three queues, wherever their node.
    assert 1 <= await xread_calls(rc) - before <= 2
    assert not watcher.running
    await rc.aclose()


async def test_queues_on_every_node_wake_their_pages(cluster_url: str) -> None:
    """Queues named with their own hash tags land on all three nodes: one XREAD per slot."""
    rc = connect(cluster_url, cluster=True)
    await rc.initialize()
    queues = tuple(f"{{t{i}}}" for i in range(9))
    nodes = {rc.get_node_from_key(f"bull:{q}:events").name for q in queues}
    assert len(nodes) == 3
    for queue in queues:
        await add(rc, "bull", queue)
    watcher = cluster_watcher(cluster_url, "bull", queues)
    async with watcher.subscribe() as everything:
        await blocked_reads(watcher, len(queues) * 2)
        assert watcher.commands_per_minute() == len(queues) * 2  # 9 XREVRANGE, 9 XREAD
        for queue in queues:
            everything.changed.clear()
            await add(rc, "bull", queue)
            await asyncio.wait_for(everything.changed.wait(), 15)
    assert not watcher.running
    await rc.aclose()


async def test_an_overview_page_is_followed_for_the_queues_it_shows(cluster_url: str) -> None:
    """Queues with their own hash tags cost a read each: an overview listening to the queues on
    its screen is followed for those alone, and another page joining adds its own."""
    rc = connect(cluster_url, cluster=True)
    queues = tuple(f"{{t{i}}}" for i in range(6))
    for queue in queues:
        await add(rc, "bull", queue)
    watcher = cluster_watcher(cluster_url, "bull", queues)
    async with watcher.subscribe(among=frozenset({"{t0}", "{t1}"})) as overview:
        await blocked_reads(watcher, 4)
        assert watcher.commands_per_minute() == 4  # 2 XREVRANGE, 2 XREAD: not 6 of each
        overview.take()  # the start notice: pages compare once with where the queues stand
        await add(rc, "bull", "{t3}")  # not on the page: nobody is told, nothing is read
        await add(rc, "bull", "{t1}")
        await asyncio.wait_for(overview.changed.wait(), 15)
        assert overview.take() == {"{t1}"}

        async with watcher.subscribe("{t3}") as page:
            # The reads start over with {t3} among them (where each stream stands, then XREADs).
            await blocked_reads(watcher, watcher.commands_per_minute() + 6)
            page.take()
            overview.take()
            await add(rc, "bull", "{t3}")
            await asyncio.wait_for(page.changed.wait(), 15)
            assert not overview.changed.is_set()
    assert not watcher.running
    await rc.aclose()
