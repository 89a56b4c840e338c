"""The BullMQ key layout. Every Redis key name Drainboard touches is spelled here and nowhere else.

A queue's keys are `<prefix>:<queue>:<type>`; a job's hash is `<prefix>:<queue>:<id>`. The prefix
may carry a hash tag (`{bull}`) for Redis Cluster, which needs no special handling here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The state names of Node BullMQ's getJobCounts(), the contract for counts and job lists.
STATES: tuple[str, ...] = (
    "active",
    "completed",
    "delayed",
    "failed",
    "paused",
    "prioritized",
    "waiting",
    "waiting-children",
)

StorageKind = Literal["list", "zset"]

# Where each state lives: the key suffix and the Redis type behind it.
STATE_STORAGE: dict[str, tuple[str, StorageKind]] = {
    "active": ("active", "list"),
    "completed": ("completed", "zset"),
    "delayed": ("delayed", "zset"),
    "failed": ("failed", "zset"),
    "paused": ("paused", "list"),
    "prioritized": ("prioritized", "zset"),
    "waiting": ("wait", "list"),
    "waiting-children": ("waiting-children", "zset"),
}

DEFAULT_PREFIX = "bull"


@dataclass(frozen=True)
class QueueKeys:
    prefix: str
    queue: str

    def _key(self, suffix: str) -> str:
        return f"{self.prefix}:{self.queue}:{suffix}"

    def state(self, state: str) -> str:
        return self._key(STATE_STORAGE[state][0])

    @property
    def meta(self) -> str:
        return self._key("meta")

    @property
    def events(self) -> str:
        return self._key("events")

    def job(self, job_id: str) -> str:
        return self._key(job_id)

    def job_logs(self, job_id: str) -> str:
        return self._key(f"{job_id}:logs")


def drain_history_key(prefix: str) -> str:
    """Drainboard's own list of recent drain runs; `:` keeps it clear of any queue's keys."""
    return f"{prefix}::drainboard:drains"


def last_idle_drain_key(prefix: str) -> str:
    """The latest drain that found nothing to do (kept apart from the history list)."""
    return f"{prefix}::drainboard:last-idle-drain"


def drain_probe_key(prefix: str) -> str:
    """The drain probe's notes on idle queues (see dashboard/drain_probe.py)."""
    return f"{prefix}::drainboard:drain-probe"


def meta_pattern(prefix: str) -> str:
    """The SCAN pattern that finds every queue: each BullMQ queue writes a meta hash."""
    return f"{_glob_escape(prefix)}:*:meta"


def queue_from_meta_key(prefix: str, key: str) -> str | None:
    head, tail = f"{prefix}:", ":meta"
    if not (key.startswith(head) and key.endswith(tail)):
        return None
    name = key[len(head) : -len(tail)]
    # A job id may itself end in ":meta"-like shapes only inside a queue name with a colon,
    # which BullMQ forbids; anything with a colon is not a queue.
    return name if name and ":" not in name else None


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
