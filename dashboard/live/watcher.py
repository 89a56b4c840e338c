"""One shared watcher that tells open pages when a queue changed, for almost no Redis commands.

BullMQ appends to each queue's `events` stream on every state change. While at least one page is
subscribed, the watcher blocks in a single `XREAD BLOCK` over all the queues' streams: an idle
minute costs one command, a change wakes it at once. It sends at most one notice every
`interval_s` seconds, so a busy queue costs a bounded number of reads, whatever its traffic and
the number of viewers.

It also keeps the counts of the watched queues, so that pages refresh them without a read of
their own: each event says how it moved the counts (dashboard/bullmq/events.py, which lists the
events each BullMQ move emits), and the watcher moves them in memory, for every viewer at once.
It re-reads only what events cannot tell:
- in full, when it starts or reconnects, and when the events cannot be trusted (an unknown event,
  `cleaned`, `paused`/`resumed`, a stream trimmed faster than it is read);
- in full, once, `settle_s` after a queue's traffic stops: Queue.drain, obliterate and clients
  with events off move jobs with no event, and this makes the counts exact at rest. Each such
  read that finds nothing new doubles the quiet time the queue's next one waits for, up to
  `settle_max_s` (8 s); one that finds a change brings it back to `settle_s`;
- while a queue is busy, every `recount_s` seconds, the states events leave uncertain: completed
  and failed (removeOnComplete/removeOnFail trim them with no event), and the split between
  `wait` and `prioritized` (a new job's entry does not say which it entered). Backed off the
  same way, up to `recount_max_s` (120 s), while they are found as the events left them;
- at the next notice, the sources of a `delayed` entry (it has no `prev`), and any count a move
  would have made negative;
- for a paused queue, the states each event touched (BullMQ 5 keeps its new jobs in `paused`).
With no subscriber the watcher is stopped, its counts dropped, and it costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from redis.crc import key_slot
from redis.exceptions import ClusterError, RedisClusterException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from dashboard.bullmq import events
from dashboard.bullmq.discovery import QueueCatalog
from dashboard.bullmq.keys import QueueKeys
from dashboard.bullmq.reader import SCHEDULERS, QueueSummary, Reader
from dashboard.live.window import MinuteWindow
from dashboard.redis_client.connection import (
    Client,
    blocked_reads_counted_on_return,
    drop_connections,
    is_cluster,
)
from dashboard.redis_client.counting import spend, tally

log = logging.getLogger("drainboard.watch")

BLOCK_MS = 60_000
# At most one notice this often. A change that lands just after a notice waits all of it, quiet
# queue or busy, so this bounds the latency: 4.5 s, plus the page's fetch, keeps every change
# within 5 s (the median is about half of it). A queue fills a BATCH between notices at 220
# events/s (it is then re-read in full) and outruns BullMQ's default trim at ~10,000 entries at
# 2,200/s. One XREAD per notice: 13.3 a minute when busy.
INTERVAL_S = 4.5
RECOUNT_S = 30.0  # the states events leave uncertain, re-read this often while busy...
# ...and up to this seldom, doubling each time a re-read finds them as the events left them (a
# queue with no removeOnComplete/removeOnFail and no priorities never drifts).
RECOUNT_MAX_S = 120.0
COALESCE_S = 1.0  # after a wake from idle, the wait for the rest of a burst
SETTLE_S = 2.0  # a full re-read this long after a queue's last event: exact at rest...
# ...and up to this long, doubling each time such a read finds nothing the events had not said: a
# queue taking a job every few seconds then settles once its traffic really stops, not after
# every job. Below the 10 s in which counts must be exact at rest.
SETTLE_MAX_S = 8.0
RETRY_S = 5.0
BATCH = 1000  # entries per XREAD; a full batch may mean the stream was trimmed past us
# The states only trims take jobs from with no event (removeOnComplete, removeOnFail).
FINISHED = ("completed", "failed")


class Subscription:
    """One listener: a page (a queue, None for all of them, or one job of a queue), or a
    `cache` of counts (dashboard/live/counts.py), which also hears "anything may have
    changed" whenever the watcher (re)starts reading, as changes since its own last read may
    have gone unseen."""

    def __init__(
        self,
        queue: str | None,
        job_id: str | None = None,
        cache: bool = False,
        among: frozenset[str] | None = None,
    ) -> None:
        self.queue = queue
        self.job_id = job_id
        self.cache = cache
        # For a listener to every queue (the overview): only these, the queues on its screen.
        self.among = among if queue is None else None
        self.changed = asyncio.Event()
        self.queues: set[str] = set()  # changed since the listener last took them

    @property
    def follows(self) -> frozenset[str] | None:
        """The queues this listener hears about; None: every queue."""
        return frozenset({self.queue}) if self.queue is not None else self.among

    def notify(self, queues: set[str], jobs: Mapping[str, set[str]] | None = None) -> None:
        """`jobs` names, per queue, the only jobs that changed; a queue missing from it (or no
        `jobs` at all) may have changed anywhere."""
        follows = self.follows
        if follows is not None and not follows & queues:
            return
        named = None if jobs is None or self.queue is None else jobs.get(self.queue)
        if self.job_id is not None and named is not None and self.job_id not in named:
            return
        self.queues |= queues if follows is None else queues & follows
        self.changed.set()

    def take(self) -> set[str]:
        """The queues changed since the listener last took them."""
        taken, self.queues = self.queues, set()
        self.changed.clear()
        return taken


class _Batch:
    """What one XREAD said: per queue, the states to re-read (None: all), the jobs named (a
    queue missing from `jobs` may have changed anywhere), and how many jobs entered each list."""

    def __init__(self) -> None:
        self.states: dict[str, set[str] | None] = {}
        self.deltas: dict[str, Counter[str]] = {}
        self.drift: dict[str, set[str]] = {}
        self.moved: set[str] = set()  # queues with events in this batch
        self.settled: set[str] = set()  # queues whose traffic had stopped when it was read
        self.jobs: dict[str, set[str]] = {}
        self.arrivals: dict[str, Counter[str]] = {}
        self._anywhere: set[str] = set()

    def everything(self, queue: str) -> None:
        self.states[queue] = None
        self._anywhere.add(queue)
        self.jobs.pop(queue, None)

    def recount(self, queue: str) -> None:
        """Read the queue's counts afresh, with no job said to have changed."""
        self.states[queue] = None
        self.jobs.setdefault(queue, set())

    def event(self, queue: str, fields: Mapping[str, str], paused: bool) -> None:
        self.moved.add(queue)
        move = None if paused else events.move(fields)
        touched = events.touched(fields, paused) if move is None else move.reread
        if touched is None:
            self.everything(queue)
        else:
            states = self.states.setdefault(queue, set())
            if states is not None:
                states |= touched
            if move is not None:
                self.deltas.setdefault(queue, Counter()).update(move.deltas)
                self.drift.setdefault(queue, set()).update(move.drift)
            if queue not in self._anywhere:
                named = self.jobs.setdefault(queue, set())
                if "jobId" in fields:
                    named.add(fields["jobId"])
        arrived = events.arrival(fields)
        if arrived is not None:
            self.arrivals.setdefault(queue, Counter())[arrived] += 1

    def __bool__(self) -> bool:
        return bool(self.states)


class ChangeWatcher:
    def __init__(
        self,
        connect: Callable[[float], Client],
        catalog: QueueCatalog,
        prefix: str,
        block_ms: int = BLOCK_MS,
        interval_s: float = INTERVAL_S,
        reader: Reader | None = None,
        recount_s: float = RECOUNT_S,
        settle_s: float = SETTLE_S,
        recount_max_s: float = RECOUNT_MAX_S,
        settle_max_s: float = SETTLE_MAX_S,
        coalesce_s: float = COALESCE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self.catalog = catalog
        self.prefix = prefix
        self.block_ms = block_ms
        self.interval_s = interval_s
        self.reader = reader
        self.recount_s = recount_s
        self.settle_s = settle_s
        self.recount_max_s = max(recount_max_s, recount_s)
        self.settle_max_s = max(settle_max_s, settle_s)
        self.coalesce_s = coalesce_s
        self._clock = clock
        self.subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._client: Client | None = None
        # Set when Redis was lost: the next successful start tells every page to re-read.
        self._reconnecting = False
        # Set when the queues the listeners follow change: a cluster's reads start over.
        self._replan = asyncio.Event()
        # The watcher's own commands, for the cost shown in footers and on the cost panel.
        self.spent: MinuteWindow[int] = MinuteWindow(clock)
        # All its commands since it was made, and the blocking reads among them still waiting:
        # Redis counts a blocking read when it returns (`executed`).
        self._sent = 0
        self._blocked = 0
        # The queues each change touched, for the rates footers show.
        self._changes: MinuteWindow[frozenset[str]] = MinuteWindow(clock)
        self._counts: dict[str, QueueSummary] = {}
        # Per queue: the states events left uncertain, when they were last read, and when its
        # traffic will have been quiet long enough for the full re-read that settles it.
        self._drift: dict[str, set[str]] = {}
        self._drift_read_at: dict[str, float] = {}
        self._settle_at: dict[str, float] = {}
        # Per queue, backed off while those re-reads find nothing: how often the uncertain
        # states are read while busy, and how long its traffic must stop before it settles.
        self._recount_every: dict[str, float] = {}
        self._settle_after: dict[str, float] = {}
        self._arrivals: dict[str, Counter[str]] = {}
        self._batches: Counter[str] = Counter()  # event batches seen per queue: `version`

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        queue: str | None = None,
        job_id: str | None = None,
        cache: bool = False,
        among: frozenset[str] | None = None,
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(queue, job_id, cache, among)
        followed = self._followed()
        self.subscriptions.add(subscription)
        self._replan_if_changed(followed)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        try:
            yield subscription
        finally:
            followed = self._followed()
            self.subscriptions.discard(subscription)
            if not self.subscriptions and self._task is not None:
                await self._stop()
            else:
                self._replan_if_changed(followed)

    def _followed(self) -> frozenset[str] | None:
        """The queues some listener hears about; None: every queue."""
        followed: set[str] = set()
        for subscription in self.subscriptions:
            if subscription.follows is None:
                return None
            followed |= subscription.follows
        return frozenset(followed)

    def _replan_if_changed(self, before: frozenset[str] | None) -> None:
        """On a cluster only the followed queues' streams are read (see _watch_groups): when
        listeners come or go and change them, the reads start over with the new ones."""
        if self._followed() != before:
            self._replan.set()

    async def _stop(self) -> None:
        """Cancel the watcher. A cancel does not always interrupt a blocked XREAD in redis-py,
        so its connection is dropped too: the last viewer leaving must cost no more commands."""
        task, self._task = self._task, None
        self._forget()
        if task is None:
            return
        task.cancel()
        _, pending = await asyncio.wait({task}, timeout=0.2)
        if pending and self._client is not None:
            await drop_connections(self._client)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # What pages read: counts kept current by the watcher, and jobs arrived in each list.

    def counts(self, queue: str) -> QueueSummary | None:
        """The queue's counts as of the last notice, or None when the watcher does not keep
        them (nobody watches the queue, or the watcher is stopped)."""
        return self._counts.get(queue) if self.running else None

    def arrivals(self, queue: str, state: str) -> int:
        """Jobs seen entering `state` since this server started watching (a running total)."""
        return self._arrivals.get(queue, Counter())[state]

    def version(self, queue: str) -> int:
        return self._batches[queue]

    def offer(self, summary: QueueSummary, version: int) -> None:
        """Counts a page has just read, kept if no event came in while it read them. Kept while
        the watcher is stopped too: its start compares them with what it reads then."""
        if version == self._batches[summary.name]:
            self._counts[summary.name] = summary

    def _forget(self) -> None:
        self._counts.clear()
        self._drift.clear()
        self._settle_at.clear()
        self._recount_every.clear()
        self._settle_after.clear()

    def commands_per_minute(self) -> float:
        return self.spent.total()

    def changes_per_minute(self, queue: str | None) -> int:
        return sum(1 for queues in self._changes.recent() if queue is None or queue in queues)

    def _watched(self, queues: Iterable[str]) -> set[str]:
        names = set(queues)
        followed = self._followed()
        return names if followed is None else names & followed

    async def _run(self) -> None:
        client = self._client = self._connect(self.block_ms / 1000 + 10)
        try:
            while self.subscriptions:
                try:
                    await self._watch_groups(client)
                except (
                    RedisConnectionError,
                    RedisTimeoutError,
                    ClusterError,  # a cluster with a node down, until it heals
                    RedisClusterException,
                ) as err:
                    if not self.subscriptions:
                        break  # dropped on purpose: the last viewer left
                    self._forget()  # events were missed: read again after reconnecting
                    log.warning("watcher lost Redis (%s); retrying in %.0f s", err, RETRY_S)
                    self._reconnecting = True
                    await asyncio.sleep(RETRY_S)
        finally:
            self._client = None
            await client.aclose()

    async def _watch_groups(self, client: Client) -> None:
        """One blocking XREAD per group of streams Redis can read together: all of them on one
        server; on a cluster, those in one hash slot (Redis refuses a read across slots, even on
        one node). Under a `{bull}` prefix every stream shares a slot: still one XREAD in all.
        With a hash tag per queue, each queue is a slot of its own, so a cluster reads only the
        streams of the queues its listeners follow (an overview: the queues on its screen), and
        starts over when they change: open pages cost reads bounded by what they show, never by
        how many queues there are. When one group stops (the queue list changed, Redis failed,
        the followed queues changed), all restart together."""
        queues = await self.catalog.names()
        self._replan.clear()
        cluster = is_cluster(client)
        read = sorted(self._watched(queues)) if cluster else queues
        groups = stream_groups(self.prefix, read, cluster)
        if not groups:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._replan.wait(), self.block_ms / 1000)
            return
        reconnected, self._reconnecting = self._reconnecting, False
        tasks = [
            asyncio.ensure_future(self._watch(client, group, queues, reconnected))
            for group in groups
        ]
        replanned = asyncio.ensure_future(self._replan.wait()) if cluster else None
        try:
            waited = [*tasks, *([replanned] if replanned else [])]
            done, _ = await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a lost connection is handled by the caller
        finally:
            if replanned is not None:
                replanned.cancel()
            for task in tasks:
                task.cancel()
            _, pending = await asyncio.wait(tasks, timeout=0.2)
            if pending:
                await drop_connections(client)
                await asyncio.wait(pending, timeout=1)

    async def _watch(
        self, client: Client, group: list[str], queues: list[str], reconnected: bool
    ) -> None:
        streams = {QueueKeys(self.prefix, q).events: q for q in group}
        pipe = client.pipeline(transaction=False)
        for stream in streams:
            pipe.xrevrange(stream, count=1)
        last: dict[Any, Any] = {
            stream: (entries[0][0] if entries else "0-0")
            for stream, entries in zip(streams, await pipe.execute(), strict=True)
        }
        self._spend(len(streams))
        # Streams with no entry to resume from: empty, or trimmed as fast as they are written.
        empty = {stream for stream, last_id in last.items() if last_id == "0-0"}
        empty_ids = await self._generated_ids(client, empty)
        # What changed before these positions were read (a page read before the watcher
        # started, or Redis was away) is not in the streams past `last`: read the watched
        # queues' counts afresh and let every page compare (its refresh costs no command);
        # after a reconnect, job pages re-read themselves too.
        start = _Batch()
        for queue in self._watched(group):
            if reconnected:
                start.everything(queue)
            else:
                start.recount(queue)
        if start:
            # A page rendered just before offered its counts: no notice if nothing moved since.
            await self._announce(start, queues, if_moved=not reconnected)
        for subscription in list(self.subscriptions):
            if subscription.cache:
                subscription.notify(set(group))
        # The first change after the start is told at once: it is blocked for, not polled.
        next_notice = self._clock()
        while self.subscriptions and await self.catalog.names() == queues:
            # Coalesce: whatever arrives before the next notice is due is read in one go then.
            wait = next_notice - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            block_ms = self.block_ms
            settling = {q: at for q, at in self._settle_at.items() if q in group}
            if settling:
                due_ms = int((min(settling.values()) - self._clock()) * 1000)
                block_ms = max(1, min(block_ms, due_ms))
            self._spend(1)  # counted when sent: a bill counts it even if abandoned while blocked
            # Redis 7.0 counts a blocking read when it starts; later servers when it returns.
            pending = blocked_reads_counted_on_return(client, next(iter(streams)))
            self._blocked += pending
            try:
                reply: Any = await client.xread(last, count=BATCH, block=block_ms)
            finally:
                self._blocked -= pending
            if reply and wait <= 0:
                # Not held back by the interval (idle, or just started), so woken by a burst's
                # first entry: the rest of the burst (a worker's
                # `completed` after its `active`, a bulk add) follows within moments. One more
                # XREAD then puts it in this notice rather than in the next, `interval_s` later.
                await asyncio.sleep(self.coalesce_s)
                reply = await self._read_on(client, reply, last)
            batch, emptied = _Batch(), set()
            for stream, entries in reply or []:
                queue = streams[stream]
                if not entries:
                    emptied.add(stream)  # Redis woke us, but the entry was already trimmed
                    batch.everything(queue)
                    continue
                last[stream] = entries[-1][0]
                empty.discard(stream)
                paused = queue in self._counts and self._counts[queue].is_paused
                for _, fields in entries:
                    batch.event(queue, fields, paused)
                settle_after = self._settle_after.get(queue, self.settle_s)
                if time.time() * 1000 - _stream_ms(entries[-1][0]) >= settle_after * 1000:
                    # Its newest entry is old already: traffic stopped before this notice, settle
                    # now rather than one interval later (Redis's clock against ours: a skew
                    # only moves this read to the next quiet notice, or adds one).
                    batch.settled.add(queue)
                    batch.states[queue] = None
                if len(entries) >= BATCH:
                    batch.everything(queue)  # more than a batch behind: entries may be lost
            if not reply and empty and block_ms == self.block_ms:
                # Valkey does not wake a reader for an entry trimmed by its own XADD: a kept-
                # empty stream is checked by its last generated id once per blocking period.
                now = await self._generated_ids(client, empty)
                for stream in empty:
                    if now.get(stream) != empty_ids.get(stream):
                        batch.everything(streams[stream])
                empty_ids.update(now)
            if emptied:
                empty |= emptied
                ids = await self._generated_ids(client, emptied)
                empty_ids.update(ids)
                last.update({stream: ids[stream] for stream in emptied if stream in ids})
            quiet = _Batch()
            for queue, at in settling.items():
                if queue not in batch.moved and at <= self._clock():
                    del self._settle_at[queue]
                    quiet.recount(queue)
            if quiet:
                # Traffic stopped: what moved with no event (drain, obliterate, trims) shows now.
                found = await self._announce(quiet, queues, if_moved=True)
                for queue in quiet.states:
                    after = self._settle_after.get(queue, self.settle_s)
                    backed_off = min(after * 2, self.settle_max_s)
                    self._settle_after[queue] = self.settle_s if queue in found else backed_off
            if not batch:
                continue
            await self._announce(batch, queues)
            next_notice = self._clock() + self.interval_s

    async def _announce(self, batch: _Batch, queues: list[str], if_moved: bool = False) -> set[str]:
        """Bring the kept counts up to date with what the batch moved, then tell the pages;
        `if_moved`: only about queues whose counts differ from those kept before. Returns the
        queues told about."""
        now = self._clock()
        before = {queue: self._counts.get(queue) for queue in batch.states}
        for queue, arrived in batch.arrivals.items():
            self._arrivals.setdefault(queue, Counter()).update(arrived)
        self._batches.update(batch.states.keys())
        watched = self._watched(queues)
        for queue in list(self._counts):
            if queue not in watched:
                del self._counts[queue]
        if self.reader is not None:
            wanted: dict[str, set[str] | None] = {}
            expected: dict[str, dict[str, int]] = {}  # the uncertain states, as events left them
            for queue, states in batch.states.items():
                if queue not in watched:
                    continue
                if queue in batch.settled:
                    self._settle_at.pop(queue, None)
                elif queue in batch.moved:
                    self._settle_at[queue] = now + self._settle_after.get(queue, self.settle_s)
                kept = self._counts.get(queue)
                if states is None or kept is None:
                    wanted[queue] = None
                    continue
                reread = set(states)
                deltas = batch.deltas.get(queue)
                if deltas:
                    counts, off = _moved(kept.counts, deltas)
                    self._counts[queue] = replace(kept, counts=counts)
                    reread |= off
                drift = self._drift.setdefault(queue, set())
                drift |= batch.drift.get(queue, set())
                every = self._recount_every.get(queue, self.recount_s)
                if drift and now - self._drift_read_at.setdefault(queue, now) >= every:
                    reread |= drift
                    counts = self._counts[queue].counts
                    expected[queue] = {state: counts.get(state, 0) for state in drift}
                    drift.clear()
                    self._drift_read_at[queue] = now
                if reread:
                    wanted[queue] = reread
            if wanted:
                await self._recount(wanted, now, expected)
        changed = set(batch.states)
        if if_moved and self.reader is not None:
            changed = {q for q in changed if before[q] is None or before[q] != self._counts.get(q)}
            if not changed:
                return changed
        if not if_moved:
            # The catch-up at a (re)start is not traffic: footers turn these into a rate.
            self._changes.add(frozenset(changed))
        for subscription in list(self.subscriptions):
            subscription.notify(changed, batch.jobs)
        return changed

    async def _recount(
        self,
        wanted: dict[str, set[str] | None],
        now: float,
        expected: Mapping[str, Mapping[str, int]],
    ) -> None:
        """Read what `wanted` names; where it reads the uncertain states, back their cadence off
        if they are still as `expected` (what the events said), or return it to `recount_s`."""
        assert self.reader is not None
        with tally() as spent:
            recounted = await self.reader.recount(wanted)
        self._spend(spent.commands)
        for queue, fresh in recounted.items():
            if isinstance(fresh, QueueSummary):
                self._counts[queue] = fresh
                self._drift.pop(queue, None)
                self._drift_read_at[queue] = now
            else:
                kept = self._counts[queue]
                if queue in expected:
                    said = expected[queue].items()
                    drifted = any(_drifted(state, fresh.get(state, n), n) for state, n in said)
                    for state, n in said:
                        if state in FINISHED and fresh.get(state, n) > n:
                            # Ahead of the events: those still on their way will add their
                            # jobs, which a count taken from this read would hold twice.
                            fresh[state] = n
                    every = self._recount_every.get(queue, self.recount_s)
                    backed_off = min(every * 2, self.recount_max_s)
                    self._recount_every[queue] = self.recount_s if drifted else backed_off
                schedulers = fresh.pop(SCHEDULERS, kept.schedulers)
                counts = {**kept.counts, **fresh}
                self._counts[queue] = replace(kept, counts=counts, schedulers=schedulers)

    async def _read_on(self, client: Client, reply: Any, last: Mapping[Any, Any]) -> Any:
        """`reply` with what the streams received since, in one non-blocking XREAD."""
        after = dict(last)
        for stream, entries in reply:
            if entries:
                after[stream] = entries[-1][0]
        self._spend(1)
        more: Any = await client.xread(after, count=BATCH, block=1)
        merged = {stream: list(entries) for stream, entries in reply}
        for stream, entries in more or []:
            merged.setdefault(stream, []).extend(entries)
        return list(merged.items())

    async def _generated_ids(self, client: Client, streams: set[str]) -> dict[str, str]:
        """The last id each stream generated, kept even when its entries are trimmed away."""
        if not streams:
            return {}
        pipe = client.pipeline(transaction=False)
        ordered = sorted(streams)
        for stream in ordered:
            pipe.xinfo_stream(stream)
        self._spend(len(ordered))
        replies = await pipe.execute(raise_on_error=False)
        return {
            stream: info["last-generated-id"]
            for stream, info in zip(ordered, replies, strict=True)
            if isinstance(info, dict)  # a stream that does not exist yet has no id
        }

    def executed(self) -> int:
        """The commands Redis has executed for this watcher so far, as INFO commandstats counts
        them: a blocking read once it has returned."""
        return self._sent - self._blocked

    def _spend(self, commands: int) -> None:
        self._sent += commands
        self.spent.add(commands)
        spend("watcher", commands)


def _stream_ms(entry_id: str) -> int:
    """When Redis wrote a stream entry: its id's first part, in ms since the epoch."""
    return int(str(entry_id).split("-", 1)[0])


def _drifted(state: str, fresh: int, said: int) -> bool:
    """Whether a re-read of an uncertain state found it off from what the events said, and not
    only ahead of them: events still on their way raise `completed` and `failed` and move
    `waiting` either way, while trims only ever lower the finished states, and a wrong split
    of the waiting jobs shows in `prioritized`. Judged so, a busy queue that never drifts backs
    off however late its events arrive."""
    if state in FINISHED:
        return fresh < said
    if state == "waiting":
        return False
    return fresh != said


def _moved(counts: Mapping[str, int], deltas: Mapping[str, int]) -> tuple[dict[str, int], set[str]]:
    """The counts moved by a batch's deltas, and the states to re-read because a move would have
    made them negative. "waiting" stands for `wait` and `prioritized` together: jobs leave `wait`
    first, as BullMQ's moveToActive takes them."""
    moved = dict(counts)
    off: set[str] = set()
    for state, delta in deltas.items():
        if state == "waiting" and delta < 0:
            taken = min(moved.get("waiting", 0), -delta)
            moved["waiting"] -= taken
            delta += taken
            state = "prioritized"
        moved[state] = moved.get(state, 0) + delta
        if moved[state] < 0:
            moved[state] = 0
            off |= events.WAITING if state in events.WAITING else {state}
    return moved, off


def stream_groups(prefix: str, queues: list[str], cluster: bool) -> list[list[str]]:
    """The queues whose event streams one XREAD can cover together."""
    if not cluster:
        return [queues] if queues else []
    by_slot: dict[int, list[str]] = {}
    for queue in queues:
        slot = key_slot(QueueKeys(prefix, queue).events.encode())
        by_slot.setdefault(slot, []).append(queue)
    return list(by_slot.values())
