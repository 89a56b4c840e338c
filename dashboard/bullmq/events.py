"""What one BullMQ event says about a queue's counts: how it moved them, or which states it may
have changed.

Every BullMQ script that moves a job appends one entry to the queue's `events` stream, named
after the job's new state, with `prev` naming the old one for most moves. `move` turns an entry
into count changes applied in memory, for no command at all; `touched` names the states to
re-read instead (a paused queue, whose new jobs may sit in BullMQ 5's paused list). An event we
do not know, or one that may touch anything (`cleaned`, `paused`, a `removed` without `prev`),
asks for all of them.

What each move emits, read from the Lua scripts of Node BullMQ 5.81 and 6.7 (identical in this
respect but for v5's `debounced` notices and v5's removeRepeatable), as `event` [prev]:

  waiting              addStandardJob, addPrioritizedJob, storeAndEnqueueJob: a new job, in
                       `wait` or, with a priority, in `prioritized` (the entry does not say
                       which: the split is re-read at the cadence, the sum is exact)
  waiting [active]     retryJob (a retry without backoff), moveJobFromActiveToWait (rate limit),
                       moveJobToWait (a stalled job put back; its `stalled` notice follows)
  waiting [delayed]    promote, promoteDelayedJobs (a delay elapsing), moveJobsToWait (promoteJobs)
  waiting [failed|completed]  reprocessJob, moveJobsToWait (retryJobs)
  waiting [waiting-children]  moveParentToWait, removeParentDependencyKey (children done)
  active [waiting]     prepareJobForProcessing: from `wait`, or `prioritized` once `wait` is
                       empty (moveToActive's order)
  completed [active], failed [active]   moveToFinished; removeOnComplete/removeOnFail then trim
                       those sets with no event: their counts are re-read at the cadence
  delayed              addDelayedJob (new), moveToDelayed (from active: backoff), changeDelay
                       (delayed to delayed), moveParentToWait (from waiting-children): no prev,
                       so its three possible sources are re-read
  waiting-children     addParentJob (new); [active] moveToWaitingChildren
  removed [state]      removeJob (removeJobWithChildren), deduplicateJob [delayed],
                       removeJobScheduler / v5 removeRepeatable [delayed]
  cleaned (count)      cleanJobsInSet: which set is not said: everything is re-read
  paused, resumed      pause: BullMQ 5 renames `wait` to `paused`: everything is re-read
  no count moved       added (always followed by the entry naming where the job went),
                       progress, drained, duplicated, deduplicated, debounced, retries-exhausted
                       (after its `failed`), stalled (after its `waiting [active]`), log
  no entry at all      Queue.drain, obliterate, removeOnComplete/removeOnFail trims, and any
                       client with events turned off: the watcher re-reads in full once traffic
                       stops (dashboard/live/watcher.py), and at a cadence what trims move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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


@dataclass
class Move:
    """What one event did to the counts: `deltas` to add (under "waiting", the sum of `wait`
    and `prioritized`: a negative one takes from `wait` first, as moveToActive does), `reread`
    the states to read at the next notice, and `drift` those that may go wrong with no event
    (trims, the wait/prioritized split), to read at the cadence."""

    deltas: dict[str, int] = field(default_factory=dict)
    reread: set[str] = field(default_factory=set)
    drift: set[str] = field(default_factory=set)


# Moves whose entry says no `prev` but whose source is known; "delayed" is not among them.
NEW_OR_KNOWN: dict[str, str | None] = {
    "waiting": None,
    "waiting-children": None,
    "active": "waiting",
    "completed": "active",
    "failed": "active",
}


def move(fields: Mapping[str, str]) -> Move | None:
    """How this event moved the counts of a queue that is not paused; None: it cannot say, read
    everything."""
    name = fields.get("event", "")
    if name in SILENT:
        return Move()
    prev = fields.get("prev")
    if name == "removed":
        if prev is None:
            return None
        into = None
    elif name == "delayed" and prev is None:
        result = Move(deltas={}, reread={"delayed", "active", "waiting-children"})
        _schedulers(fields, result)
        return result
    elif name in NEW_OR_KNOWN:
        into = "waiting" if name == "waiting" else name
        if prev is None:
            prev = NEW_OR_KNOWN[name]
    elif name == "delayed":
        into = "delayed"
    else:
        return None
    if prev is not None and prev not in STATES:
        return None
    result = Move()
    if into is not None:
        result.deltas[into] = 1
    if prev is not None:
        # BullMQ's "waiting" as a source covers `wait` and `prioritized`; "prioritized" is said.
        source = prev
        result.deltas[source] = result.deltas.get(source, 0) - 1
    if into == "waiting" and prev not in WAITING:
        result.drift |= WAITING  # a new or moved job may be prioritized: the split is unsaid
    if name in ("completed", "failed"):
        result.drift.add(name)  # removeOnComplete / removeOnFail trim with no event
    _schedulers(fields, result)
    return result


def _schedulers(fields: Mapping[str, str], result: Move) -> None:
    if fields.get("jobId", "").startswith("repeat:"):
        # A job scheduler's (or legacy repeatable job's) iteration: a new scheduler makes one.
        result.reread.add(SCHEDULERS)


def arrival(fields: Mapping[str, str]) -> str | None:
    """The list a job just entered, for "N new jobs" on it, or a NOTED event; None for events
    that add no job to a list of their own name (a "waiting" job may be prioritized: counted
    as waiting here)."""
    name = fields.get("event", "")
    return name if name in INTO or name in NOTED else None
