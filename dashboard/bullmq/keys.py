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

# The job ends BullMQ records per-minute metrics for.
METRIC_KINDS: tuple[str, ...] = ("completed", "failed")

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

# A queue's own keys, `<prefix>:<queue>:<type>`: a job id spelling one of these would read (or, on
# remove, delete) the queue's structure instead of a job hash.
QUEUE_KEY_TYPES = frozenset(
    {
        *(suffix for suffix, _ in STATE_STORAGE.values()),
        *("meta", "id", "events", "marker", "stalled", "stalled-check", "limiter", "pc"),
        *("repeat", "de", "metrics", "priority", "drained"),
    }
)
# Key types that carry a name after a colon: `de:<dedup id>`, `metrics:completed[:data]`.
QUEUE_KEY_FAMILIES = ("de:", "metrics:")
# A job's own side keys, `<prefix>:<queue>:<id>:<suffix>`.
JOB_SUB_KEYS = (":logs", ":lock", ":dependencies", ":processed", ":failed", ":unsuccessful")


def is_job_id(job_id: str) -> bool:
    """Whether `job_id` can name a job hash at all, decided by name alone (nothing is read).

    Refused: any of a queue's own keys, a job's side keys (`7:logs`), a job scheduler's hash
    (`repeat:<scheduler id>`, whereas its jobs are `repeat:<id>:<millis>`), and `.`/`..`, which
    browsers rewrite in a URL path, so no link to them could be trusted.
    """
    if job_id in ("", ".", "..") or job_id in QUEUE_KEY_TYPES:
        return False
    if job_id.startswith(QUEUE_KEY_FAMILIES) or job_id.endswith(JOB_SUB_KEYS):
        return False
    if job_id.startswith("repeat:"):
        scheduler, _, millis = job_id[len("repeat:") :].rpartition(":")
        return bool(scheduler) and millis.isascii() and millis.isdigit()
    return True


def scheduler_hash_of(job_id: str) -> str | None:
    """The scheduler whose hash `job_id` would name, if the repeat set holds it. A scheduler's
    id may end in `:<digits>` (`nightly:1`), and then its hash, `repeat:nightly:1`, has the shape
    of a scheduler job's id: only the repeat set tells them apart, so every job lookup of a
    `repeat:` id asks it in the same round trip (see reader.probe_scheduler)."""
    return job_id[len("repeat:") :] if job_id.startswith("repeat:") else None


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

    def metrics(self, kind: str) -> str:
        """BullMQ's per-minute metrics hash (`count`, `prevTS`, `prevCount`) for completed or
        failed jobs, written by workers started with `metrics: {maxDataPoints}`."""
        return self._key(f"metrics:{kind}")

    def metrics_data(self, kind: str) -> str:
        """The metrics' data points: jobs per minute, newest first."""
        return self._key(f"metrics:{kind}:data")

    def job(self, job_id: str) -> str:
        return self._key(job_id)

    def job_logs(self, job_id: str) -> str:
        return self._key(f"{job_id}:logs")

    @property
    def schedulers(self) -> str:
        """The sorted set of job schedulers and repeatable jobs, scored by their next run (ms)."""
        return self._key("repeat")

    def scheduler(self, scheduler_id: str) -> str:
        """A scheduler's hash: name, pattern or every, tz, limits, template; `ic` if not legacy."""
        return self._key(f"repeat:{scheduler_id}")

    def children(self, job_id: str, group: str) -> str:
        """One of a parent's child sets, by BullMQ's own suffix (see CHILD_GROUPS)."""
        return self._key(f"{job_id}:{CHILD_GROUPS[group][0]}")

    @property
    def job_prefix(self) -> str:
        """What a job id is appended to for its hash, for Lua scripts that visit many jobs."""
        return self._key("")

    def search_keys(self, state: str) -> tuple[str, ...]:
        """The keys a search of `state` walks, in Node BullMQ's getJobs order: "waiting" also
        reads BullMQ 5's paused list, as Node does."""
        if state == "waiting":
            return (self.state("waiting"), self.state("paused"))
        return (self.state(state),)

    def probe_keys(self, job_id: str) -> tuple[str, ...]:
        """The job hash, then the keys Node BullMQ's getState probes, in its order."""
        return (
            self.job(job_id),
            *(self.state(s) for s in ("completed", "failed", "delayed", "prioritized")),
            *(self.state(s) for s in ("active", "waiting", "paused", "waiting-children")),
        )


# A parent's children by what became of them, named as Node's getDependencies() names them:
# the key suffix and its Redis type. `failed` children (failParentOnFailure) sit in the
# `unsuccessful` set; `ignored` ones (ignoreDependencyOnFailure, continueParentOnFailure) in the
# `failed` hash.
CHILD_GROUPS: dict[str, tuple[str, Literal["set", "hash", "zset"]]] = {
    "processed": ("processed", "hash"),
    "pending": ("dependencies", "set"),
    "failed": ("unsuccessful", "zset"),
    "ignored": ("failed", "hash"),
}


def scheduler_job_id(scheduler_id: str, next_ms: int) -> str:
    """The id of the delayed job a scheduler (or a BullMQ 5 repeatable job) has pending."""
    return f"repeat:{scheduler_id}:{next_ms}"


@dataclass(frozen=True)
class JobRef:
    """A job named by its full hash key, as parents and children refer to one another."""

    prefix: str
    queue: str
    job_id: str


def parse_job_key(key: str) -> JobRef | None:
    """`<prefix>:<queue>:<id>` → its parts; the id may itself contain colons."""
    parts = key.split(":", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return JobRef(*parts)


def shares_one_slot(prefix: str, queue: str) -> bool:
    """Whether every key of the queue hashes to one Redis Cluster slot, as BullMQ's scripts
    need: `<prefix>:<queue>:` holds a complete, non-empty hash tag (`{bull}`, or a queue named
    `{tenant-7}`). Redis hashes only what lies between the first `{` and the `}` after it."""
    head = f"{prefix}:{queue}:"
    start = head.find("{")
    end = head.find("}", start + 1) if start >= 0 else -1
    return end > start + 1


def drain_history_key(prefix: str) -> str:
    """Drainboard's own list of recent drain runs; `:` keeps it clear of any queue's keys."""
    return f"{prefix}::drainboard:drains"


def last_idle_drain_key(prefix: str) -> str:
    """The latest drain that found nothing to do (kept apart from the history list)."""
    return f"{prefix}::drainboard:last-idle-drain"


def drain_probe_key(prefix: str) -> str:
    """The drain probe's notes on idle queues (see dashboard/drain/probe.py)."""
    return f"{prefix}::drainboard:drain-probe"


def alert_state_key(prefix: str) -> str:
    """Drainboard's alert state: one hash field per firing rule and queue (observe/alerts.py)."""
    return f"{prefix}::drainboard:alerts"


def alert_sends_key(prefix: str) -> str:
    """The last alerts sent and their delivery results, a capped stream."""
    return f"{prefix}::drainboard:alerts:sent"


def audit_key(prefix: str) -> str:
    """The audit trail: one entry per change made through the dashboard, a capped stream."""
    return f"{prefix}::drainboard:audit"


def sign_in_state_key(prefix: str, state: str) -> str:
    """A single sign-on's `state`, kept while it may be used, so that it is used only once."""
    return f"{prefix}::drainboard:oidc-state:{state}"


def session_generation_key(prefix: str) -> str:
    """The counter that sign-out increments, ending every session signed before it."""
    return f"{prefix}::drainboard:session-generation"


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
