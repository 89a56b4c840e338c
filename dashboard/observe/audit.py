"""The audit trail: who changed what, when, from where, and how it ended.

Every change made through the dashboard (an action, an edit, a drain, a sign-in) is one entry in a
capped Redis stream, written with one XADD, and one JSON log line. Reads never write. The trail is
read newest first, one bounded XREVRANGE per page: filters apply to the entries that page reads,
and a cursor leads to older ones, so a page costs one command however long the trail is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from dashboard.bullmq.keys import audit_key
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import count_reads, execute

log = logging.getLogger("drainboard.audit")

# Entries kept: at about one a minute, a week of changes; trimmed exactly, as XADD MAXLEN does.
KEPT = 10_000
# Entries one page of the trail reads: the page's cost is one command whatever its filters.
READ_PER_PAGE = 200
# What an entry may be filtered by, with the entry field each one compares.
FILTERS = ("user", "queue", "action", "outcome")
OUTCOMES = ("done", "refused", "failed")


def outcome_of(status: int) -> str:
    """How a change ended, from its HTTP status: done, refused (4xx) or failed (5xx)."""
    done, refused, failed = OUTCOMES
    if status < 400:
        return done
    return refused if status < 500 else failed


async def record(redis: Client, prefix: str, entry: dict[str, Any], store: bool = True) -> None:
    """Log the entry as one JSON line and, unless `store` is off (a read-only dashboard writes
    nothing to Redis), add it to the trail. A trail Redis cannot take is logged, never raised:
    the change it describes has happened."""
    line = json.dumps(entry, separators=(",", ":"), default=str)
    log.info(line)
    if not store:
        return
    count_reads(1, "audit")
    try:
        await redis.xadd(audit_key(prefix), {"entry": line}, maxlen=KEPT, approximate=False)
    except RedisError as err:
        log.warning("the audit trail could not be written (%s); the entry is in this log", err)


@dataclass
class TrailPage:
    entries: list[dict[str, Any]]
    # The id to read older entries from, or None when the trail has no more.
    older: str | None


async def read(
    redis: Client, prefix: str, filters: dict[str, str], before: str | None = None
) -> TrailPage:
    """Up to READ_PER_PAGE entries older than `before` (newest first), those matching every
    filter kept."""
    pipe = redis.pipeline(transaction=False)
    pipe.xrevrange(audit_key(prefix), f"({before}" if before else "+", "-", count=READ_PER_PAGE)
    (rows,) = await execute(pipe)
    entries = []
    for entry_id, fields in rows:
        entry = _decoded(fields)
        if entry is not None and _matches(entry, filters):
            entries.append({"id": _text(entry_id), **entry})
    older = _text(rows[-1][0]) if len(rows) == READ_PER_PAGE else None
    return TrailPage(entries, older)


def _decoded(fields: dict[Any, Any]) -> dict[str, Any] | None:
    try:
        entry = json.loads(fields.get(b"entry", fields.get("entry")) or "")
    except (TypeError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def _matches(entry: dict[str, Any], filters: dict[str, str]) -> bool:
    return all(str(entry.get(name) or "") == wanted for name, wanted in filters.items() if wanted)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
