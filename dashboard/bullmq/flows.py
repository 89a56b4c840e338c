"""Flows: a job's parent and one page of its children, one level at a time.

BullMQ keeps a parent's children in four keys by what became of them (keys.CHILD_GROUPS). A level
is read in at most four round trips, whatever the number of children: the job, its four counts
and its state probes; one scan per non-empty group from the cursor on (COUNT = the page size);
each child's name, state probes and own counts; and, only for children no sorted set holds, the
list probes. Bull Board instead runs getState on every node and scans every dependency key whole.

The cursor is `<group>.<position>.<skip>`: the group index, the SSCAN/HSCAN cursor (or the
ZRANGE offset) where this page's scan starts, and how many of that scan's items earlier pages
took. A scan may return more than a page (small sets come back whole), so the next page repeats
the scan and skips what was shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboard.bullmq.keys import CHILD_GROUPS, JobRef, QueueKeys, is_job_id, parse_job_key
from dashboard.bullmq.reader import (
    LIST_STATES,
    SET_STATES,
    list_probes,
    needs_list_probes,
    probe_scheduler,
    scheduler_probed,
    set_probes,
    state_from_probes,
)
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute
from dashboard.text import quoted

GROUPS: tuple[str, ...] = tuple(CHILD_GROUPS)
DEFAULT_CHILDREN = 20
MAX_CHILDREN = 200


class BadCursor(ValueError):
    """The cursor is not one this module wrote."""


@dataclass(frozen=True)
class Cursor:
    group: int = 0
    position: int = 0
    skip: int = 0

    def __str__(self) -> str:
        return f"{self.group}.{self.position}.{self.skip}"

    @classmethod
    def parse(cls, raw: str | None) -> Cursor:
        if not raw:
            return cls()
        parts = raw.split(".")
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 20 for p in parts):
            raise BadCursor(
                f"cursor must be the value a previous page returned; got {quoted(raw)}."
            )
        group, position, skip = (int(p) for p in parts)
        if group >= len(GROUPS):
            raise BadCursor(f"cursor names no group of children; got {quoted(raw)}.")
        return cls(group, position, skip)


@dataclass(frozen=True)
class Child:
    id: str
    queue: str
    prefix: str
    name: str | None
    state: str
    group: str
    child_count: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "queue": self.queue,
            "name": self.name,
            "state": self.state,
            "childCount": self.child_count,
        }


@dataclass(frozen=True)
class FlowLevel:
    id: str
    queue: str
    name: str
    state: str
    parent: JobRef | None
    children: list[Child]
    counts: dict[str, int]
    cursor: str | None

    @property
    def child_total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "queue": self.queue,
            "name": self.name,
            "state": self.state,
            "parent": {"id": self.parent.job_id, "queue": self.parent.queue}
            if self.parent
            else None,
            "children": [child.as_json() for child in self.children],
            "counts": self.counts,
            "cursor": self.cursor,
        }


async def flow_level(
    redis: Client, keys: QueueKeys, job_id: str, limit: int, cursor: Cursor
) -> FlowLevel | None:
    """The job, its parent and one page of its children; None when the job does not exist."""
    if not is_job_id(job_id):
        return None
    pipe = redis.pipeline(transaction=False)
    pipe.hmget(keys.job(job_id), ["name", "parentKey"])
    _count_children(pipe, keys, job_id)
    set_probes(pipe, keys, job_id)
    probe_scheduler(pipe, keys, job_id)
    replies, is_scheduler = scheduler_probed(job_id, await execute(pipe))
    if is_scheduler:
        return None
    (name, parent_key), *rest = replies
    counts = dict(zip(GROUPS, (int(n) for n in rest[: len(GROUPS)]), strict=True))
    own_hits = rest[len(GROUPS) :]
    if name is None and not any(counts.values()):
        return None

    scanned = [g for g in range(cursor.group, len(GROUPS)) if counts[GROUPS[g]]]
    pipe = redis.pipeline(transaction=False)
    for g in scanned:
        start = cursor.position if g == cursor.group else 0
        _scan(pipe, keys, job_id, GROUPS[g], start, limit)
    if needs_list_probes(own_hits):
        list_probes(pipe, keys, job_id)
    replies = await execute(pipe)
    own_lists = replies[len(scanned) :]

    picked, next_cursor = _take(scanned, replies[: len(scanned)], cursor, limit)
    children = await _children(redis, picked)
    return FlowLevel(
        id=job_id,
        queue=keys.queue,
        name=name or "",
        state=state_from_probes(own_hits, own_lists),
        parent=parse_job_key(parent_key) if parent_key else None,
        children=children,
        counts=counts,
        cursor=None if next_cursor is None else str(next_cursor),
    )


async def child_counts(
    redis: Client, keys: QueueKeys, job_ids: list[str]
) -> dict[str, dict[str, int]]:
    """Each parent's children by group, for the waiting-children list: four commands a row."""
    if not job_ids:
        return {}
    pipe = redis.pipeline(transaction=False)
    for job_id in job_ids:
        _count_children(pipe, keys, job_id)
    replies = await execute(pipe)
    width = len(GROUPS)
    return {
        job_id: dict(
            zip(GROUPS, (int(n) for n in replies[i * width : (i + 1) * width]), strict=True)
        )
        for i, job_id in enumerate(job_ids)
    }


def _count_children(pipe: Any, keys: QueueKeys, job_id: str) -> None:
    for group in GROUPS:
        key, kind = keys.children(job_id, group), CHILD_GROUPS[group][1]
        if kind == "set":
            pipe.scard(key)
        elif kind == "hash":
            pipe.hlen(key)
        else:
            pipe.zcard(key)


def _scan(pipe: Any, keys: QueueKeys, job_id: str, group: str, start: int, limit: int) -> None:
    key, kind = keys.children(job_id, group), CHILD_GROUPS[group][1]
    # COUNT is a hint of how many buckets to visit, not a number of items: a big (hashtable) set
    # often yields fewer than COUNT. Twice the page fills nearly every page; the extra items are
    # skipped, not lost (the next page repeats the scan).
    count = 2 * limit
    if kind == "set":
        pipe.sscan(key, start, count=count)
    elif kind == "hash":
        # The values (return values, failure reasons) come along: HSCAN NOVALUES needs Redis 7.4.
        pipe.hscan(key, start, count=count)
    else:
        pipe.zrange(key, start, start + limit - 1)


def _take(
    scanned: list[int], replies: list[Any], cursor: Cursor, limit: int
) -> tuple[list[tuple[str, str]], Cursor | None]:
    """Walk the scans in group order until the page is full; say where the next page starts."""
    picked: list[tuple[str, str]] = []
    for g, reply in zip(scanned, replies, strict=True):
        group = GROUPS[g]
        first = g == cursor.group
        start = cursor.position if first else 0
        skip = cursor.skip if first else 0
        if CHILD_GROUPS[group][1] == "zset":
            members, following = list(reply), 0
            done = len(members) < limit
            skip = 0
        else:
            following, found = reply
            members = list(found)  # a dict's keys for HSCAN, a list for SSCAN
            done = int(following) == 0
        fresh = members[skip:]
        room = limit - len(picked)
        picked.extend((group, key) for key in fresh[:room])
        if len(fresh) > room:
            if CHILD_GROUPS[group][1] == "zset":
                return picked, Cursor(g, start + room)
            return picked, Cursor(g, start, skip + room)
        if not done:
            if CHILD_GROUPS[group][1] == "zset":
                return picked, Cursor(g, start + len(members))
            return picked, Cursor(g, int(following))
        if len(picked) == limit:
            later = [h for h in scanned if h > g]
            return picked, Cursor(later[0]) if later else None
    return picked, None


async def _children(redis: Client, picked: list[tuple[str, str]]) -> list[Child]:
    refs = [(group, parse_job_key(key)) for group, key in picked]
    known = [(group, ref) for group, ref in refs if ref is not None]
    if not known:
        return []
    pipe = redis.pipeline(transaction=False)
    for _, ref in known:
        keys = QueueKeys(ref.prefix, ref.queue)
        pipe.hget(keys.job(ref.job_id), "name")
        _count_children(pipe, keys, ref.job_id)
        set_probes(pipe, keys, ref.job_id)
    replies = await execute(pipe)
    width = 1 + len(GROUPS) + len(SET_STATES)
    rows = [replies[i * width : (i + 1) * width] for i in range(len(known))]

    unresolved = [
        i
        for i, row in enumerate(rows)
        if row[0] is not None and needs_list_probes(row[1 + len(GROUPS) :])
    ]
    lists: dict[int, list[Any]] = {}
    if unresolved:
        pipe = redis.pipeline(transaction=False)
        for i in unresolved:
            ref = known[i][1]
            list_probes(pipe, QueueKeys(ref.prefix, ref.queue), ref.job_id)
        answers = await execute(pipe)
        n = len(LIST_STATES)
        lists = {i: answers[k * n : (k + 1) * n] for k, i in enumerate(unresolved)}

    children = []
    for i, ((group, ref), row) in enumerate(zip(known, rows, strict=True)):
        name = row[0]
        hits = row[1 + len(GROUPS) :]
        state = state_from_probes(hits, lists.get(i))  # "unknown" once removed, as in Node
        children.append(
            Child(
                id=ref.job_id,
                queue=ref.queue,
                prefix=ref.prefix,
                name=name,
                state=state,
                group=group,
                child_count=sum(int(n) for n in row[1 : 1 + len(GROUPS)]),
            )
        )
    return children
