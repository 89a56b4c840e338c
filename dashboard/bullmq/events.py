"""What one BullMQ event says about a queue's counts: which states it may have changed.

Every BullMQ script that moves a job appends one entry to the queue's `events` stream, named
after the job's new state, with `prev` naming the old one for most moves. Re-reading just
those states keeps the counts exact for a fraction of the nine reads a full refresh costs.
An event we do not know, or one that may touch anything (`cleaned`, `paused`, a `removed`
without `prev`), asks for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from dashboard.bullmq.keys import STATES
from dashboard.bullmq.reader import SCHEDULERS

# Every state, plus the paused flag: a full refresh.
EVERYTHING: frozenset[str] | None = None

# A "waiting" job sits in the wait list or, with a priority, in the prioritized set; BullMQ 5
# puts it in the paused list while the queue is paused.
WAITING = frozenset({"waiting", "prioritized"})

# Where each event puts the job.
INTO: dict[str, frozenset[str]] = {
    "waiting": WAITING,
    "active": frozenset({"active"}),
    "completed": frozenset({"completed"}),
    "failed": frozenset({"failed"}),
    "delayed": frozenset({"delayed"}),
    "waiting-children": frozenset({"waiting-children"}),
}

# Where the job may have come from when the event has no `prev` (BullMQ 5 and 6 scripts):
# "waiting" and "waiting-children" without it are new jobs; "delayed" is a new job, a retry
# after backoff, a changed delay or a parent whose children are done.
FROM_UNSAID: dict[str, frozenset[str]] = {
    "waiting": frozenset(),
    "waiting-children": frozenset(),
    "active": WAITING,
    "completed": frozenset({"active"}),
    "failed": frozenset({"active"}),
    "delayed": frozenset({"active", "waiting-children"}),
}

# Events that move no job: progress, notices about other events, and `added`, which is always
# followed, in the same script, by the event naming where the job went.
SILENT = frozenset(
    {
        "added",
        "progress",
        "drained",
        "duplicated",
        "deduplicated",
        "debounced",
        "retries-exhausted",
        "stalled",  # the move back to wait emits its own "waiting" with prev "active"
        "log",
    }
)


def touched(fields: Mapping[str, str], paused: bool) -> frozenset[str] | None:
    """The states whose counts this event may have changed (with SCHEDULERS for a scheduler's
    job); None means everything a queue summary holds. `paused` is whether the queue is
    paused (BullMQ 5's paused list)."""
    name = fields.get("event", "")
    if name in SILENT:
        return frozenset()
    prev = fields.get("prev")
    if name == "removed":
        into: frozenset[str] = frozenset()
        if prev is None:
            return EVERYTHING
    elif name in INTO:
        into = INTO[name]
    else:
        return EVERYTHING
    if prev is None:
        source = FROM_UNSAID[name]
    elif prev == "waiting":
        source = WAITING
    elif prev in STATES:
        source = frozenset({prev})
    else:
        return EVERYTHING
    states = into | source
    if paused and states & WAITING:
        states |= {"paused"}
    if fields.get("jobId", "").startswith("repeat:"):
        # A job scheduler's (or legacy repeatable job's) iteration: a new scheduler makes one.
        states |= {SCHEDULERS}
    return states


# Events counted like arrivals though they name no list: alerts count stalled jobs by them.
NOTED = frozenset({"stalled"})


def arrival(fields: Mapping[str, str]) -> str | None:
    """The list a job just entered, for "N new jobs" on it, or a NOTED event; None for events
    that add no job to a list of their own name (a "waiting" job may be prioritized: counted
    as waiting here)."""
    name = fields.get("event", "")
    return name if name in INTO or name in NOTED else None
