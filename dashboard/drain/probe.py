"""Which queues have work now, for a few commands whatever the queues hold.

Work is a job in wait or prioritized (unless the queue is paused), a delayed job that is due, or
anything in active, which may be a crashed drain's job to recover. A delayed job that is not due
yet (a repeatable job's next iteration, hours away) is not work.

1. One `EXISTS` over every queue's wait, prioritized, active, delayed and (BullMQ 5) paused
   keys. Zero: all idle.
2. Otherwise the probe's notes (one `GET` of Drainboard's own key) say, for each queue seen idle
   before, the last event id of its `events` stream then and when its earliest delayed job
   falls due. Every BullMQ script that adds, moves, delays, promotes or resumes a job also
   appends to that stream, so one `XREAD COUNT 1` over those streams from the noted ids tells
   which queues changed since. A queue that did not change and has nothing due is still idle.
3. Only the queues that changed, fell due, or have no note are looked at (one pipeline: the
   stream's last id first, then the lists and the earliest delayed job), and their notes are
   rewritten. A queue whose events are turned off (`opts.maxLenEvents` 0) is looked at every
   time: without its stream nothing could tell it changed. A paused queue holding queued jobs
   is not work; it is named as held, so a drain can say why it left those jobs alone.

An idle tick with scheduled jobs thus costs EXISTS, GET and XREAD; on empty queues, EXISTS only.
A drain that did work notes the queues it emptied itself (`note_drained`), so the tick after it
costs what an idle tick costs, instead of looking again at each queue the drain touched.
BullMQ's `marker` key is not used: workers pop it and promotions leave it stale, so it can say
"nothing due" while a job is due. Everything here only reads BullMQ's keys.

What the probe saw of each queue (`Probe.seen`: jobs waiting, paused, the time of its last event)
is handed on, for a tick's alert rules to judge without reading again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from dashboard.bullmq.keys import QueueKeys, drain_probe_key
from dashboard.redis_client.connection import Client

# A delayed job's score is its due time in ms times 4096, plus a counter (BullMQ's getDelayedScore).
DELAY_SCORE_FACTOR = 4096
NO_EVENTS = "0-0"


@dataclass(frozen=True)
class Note:
    """What the probe saw of an idle queue: its stream's last event id, when its first delayed
    job is due (ms; None without one), and whether it holds queued jobs because it is paused
    (pausing and resuming append to the stream, so the note stays true until it changes)."""

    event: str
    due: int | None
    held: bool = False
    # What the look saw besides, for the alert rules (notes written before these default).
    paused: bool = False
    waiting: int = 0
    prioritized: int = 0


@dataclass(frozen=True)
class Seen:
    """A queue as the probe knows it without reading more: jobs in `wait` and `prioritized`,
    whether it is paused, and when its last event was (ms; a pause appends one, so a pause is
    at least that old). None: not known (the first EXISTS found every queue empty, so no meta
    was read; or a drain stopped before emptying the queue)."""

    waiting: int | None
    prioritized: int | None
    paused: bool | None
    last_event_ms: int | None


def event_ms(event_id: str) -> int | None:
    """The time a stream entry was added, from its id (`<ms>-<n>`)."""
    ms = int(event_id.partition("-")[0] or 0)
    return ms or None


@dataclass(frozen=True)
class Probe:
    """The queues with work now, and the paused queues whose queued jobs wait for a resume."""

    busy: list[str]
    held: list[str]
    seen: dict[str, Seen] = field(default_factory=dict)


@dataclass(frozen=True)
class Look:
    """One queue's state as the pipeline read it."""

    event: str
    waiting: int
    prioritized: int
    active: int
    paused_list: int  # BullMQ 5 moves a paused queue's jobs to its `paused` list
    due: int | None
    paused: bool
    events_on: bool

    def busy(self, now_ms: int) -> bool:
        due = self.due is not None and self.due <= now_ms
        return bool(self.active) or (
            not self.paused and bool(self.waiting or self.prioritized or due)
        )

    def held(self, now_ms: int) -> bool:
        queued = self.waiting or self.prioritized or self.paused_list
        return self.paused and not self.busy(now_ms) and bool(queued)


def _parse_notes(raw: str | bytes | None) -> dict[str, Note]:
    try:
        stored = json.loads(raw) if raw else {}
        return {name: Note(**fields) for name, fields in stored.items()}
    except (TypeError, ValueError, AttributeError):
        return {}  # unreadable notes are no notes: every queue gets looked at


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _look(redis: Client, prefix: str, queues: list[str]) -> dict[str, Look]:
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        keys = QueueKeys(prefix, queue)
        # The stream's last id first: whatever changes after it shows up as a newer event.
        pipe.xrevrange(keys.events, count=1)
        pipe.llen(keys.state("waiting"))
        pipe.zcard(keys.state("prioritized"))
        pipe.llen(keys.state("active"))
        pipe.llen(keys.state("paused"))
        pipe.zrange(keys.state("delayed"), 0, 0, withscores=True)
        pipe.hmget(keys.meta, "paused", "opts.maxLenEvents")
    replies = await pipe.execute()
    looks = {}
    for i, queue in enumerate(queues):
        last, waiting, prioritized, active, paused_list, delayed, (paused, max_len) = replies[
            i * 7 : i * 7 + 7
        ]
        looks[queue] = Look(
            event=_text(last[0][0]) if last else NO_EVENTS,
            waiting=waiting,
            prioritized=prioritized,
            active=active,
            paused_list=paused_list,
            due=int(delayed[0][1]) // DELAY_SCORE_FACTOR if delayed else None,
            paused=paused is not None,
            events_on=max_len is None or _text(max_len).strip() != "0",
        )
    return looks


async def _changed(redis: Client, prefix: str, notes: dict[str, Note]) -> set[str]:
    """The noted queues whose events stream has an entry past the noted id."""
    if not notes:
        return set()
    streams: dict[Any, Any] = {
        QueueKeys(prefix, queue).events: note.event for queue, note in notes.items()
    }
    replies: Any = await redis.xread(streams, count=1)
    by_stream = {QueueKeys(prefix, queue).events: queue for queue in notes}
    return {by_stream[_text(stream)] for stream, _entries in replies or []}


async def probe(redis: Client, prefix: str, queues: list[str], now_ms: int) -> Probe:
    """The queues among `queues` that have work now, and those held by a pause."""
    if not queues:
        return Probe([], [])
    watched = [
        QueueKeys(prefix, q).state(s)
        for q in queues
        for s in ("waiting", "prioritized", "active", "delayed", "paused")
    ]
    if not await redis.exists(*watched):
        return Probe([], [], {q: Seen(0, 0, None, None) for q in queues})
    key = drain_probe_key(prefix)
    notes = _parse_notes(await redis.get(key))
    idle_noted = {q: notes[q] for q in queues if q in notes}
    changed = await _changed(redis, prefix, idle_noted)
    stale = [
        q
        for q in queues
        if q not in idle_noted
        or q in changed
        or ((due := idle_noted[q].due) is not None and due <= now_ms)
    ]
    looks = await _look(redis, prefix, stale) if stale else {}
    busy = [q for q in stale if looks[q].busy(now_ms)]
    held = [
        q
        for q in queues
        if (looks[q].held(now_ms) if q in looks else q in idle_noted and idle_noted[q].held)
    ]
    updated = dict(notes)
    seen = {}
    for queue, look in looks.items():
        seen[queue] = Seen(look.waiting, look.prioritized, look.paused, event_ms(look.event))
        if look.busy(now_ms) or not look.events_on:
            updated.pop(queue, None)  # looked at again next time
        else:
            updated[queue] = Note(
                look.event,
                look.due,
                look.held(now_ms),
                look.paused,
                look.waiting,
                look.prioritized,
            )
    for queue, note in idle_noted.items():
        if queue not in looks:
            seen[queue] = Seen(note.waiting, note.prioritized, note.paused, event_ms(note.event))
    if updated != notes:
        await redis.set(
            key,
            json.dumps({q: asdict(n) for q, n in updated.items()}, separators=(",", ":")),
        )
    return Probe(busy, held, seen)


async def note_drained(redis: Client, prefix: str, queues: list[str]) -> set[str]:
    """Note the queues a drain just worked on as idle where they are: the drain saw them empty
    when it stopped (its last moveToActive found no job), so 4 commands a queue tell what the
    next tick's look would (7), in the same round trip as the notes. The stream's last id is read
    first, then emptiness: whatever arrives after that id shows up as a newer event, and a job
    that arrived before it is in the lists read after it. Still-busy, paused-with-jobs and
    events-off queues get no note: the next tick looks at them. Returns the queues still
    holding jobs."""
    if not queues:
        return set()
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        keys = QueueKeys(prefix, queue)
        pipe.xrevrange(keys.events, count=1)
        pipe.exists(*(keys.state(s) for s in ("waiting", "prioritized", "active", "paused")))
        pipe.zrange(keys.state("delayed"), 0, 0, withscores=True)
        pipe.hget(keys.meta, "opts.maxLenEvents")
    key = drain_probe_key(prefix)
    pipe.get(key)
    replies = await pipe.execute()
    notes = _parse_notes(replies[-1])
    updated = dict(notes)
    still = set()
    for i, queue in enumerate(queues):
        last, queued, delayed, max_len = replies[i * 4 : i * 4 + 4]
        events_on = max_len is None or _text(max_len).strip() != "0"
        if queued:
            still.add(queue)
        if queued or not events_on:
            updated.pop(queue, None)
            continue
        event = _text(last[0][0]) if last else NO_EVENTS
        due = int(delayed[0][1]) // DELAY_SCORE_FACTOR if delayed else None
        updated[queue] = Note(event, due)
    if updated != notes:
        await redis.set(
            key, json.dumps({q: asdict(n) for q, n in updated.items()}, separators=(",", ":"))
        )
    return still
