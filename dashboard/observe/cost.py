"""What idle queue processing costs in Redis commands a month: a model, pure functions, no I/O.

Every figure comes twice: `client` commands (what a client sends: an EVALSHA is one) and
`executed` commands (what Redis runs, counting each command inside a Lua script), because a
per-command bill such as Upstash's counts the commands inside scripts too.

The per-call figures below were measured on Redis 7.0 with the worker versions named, on empty
queues, with INFO commandstats (see bench/ and tests/integration/test_cost_validation.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from dashboard.config import DEFAULT_PRICE_PER_100K, DEFAULT_QUOTA
from dashboard.i18n import N_

MINUTES_PER_MONTH = 30 * 24 * 60  # the model's month: 30 days
QUEUE_EVENTS_BLOCK_S = 10  # QueueEvents blocks in XREAD for 10 s at a time
MAX_BLOCK_WITH_DELAYED_S = 10  # a worker blocks at most 10 s while a delayed job exists


@dataclass(frozen=True)
class Rate:
    """Commands per minute."""

    client: float
    executed: float

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.client + other.client, self.executed + other.executed)

    def __mul__(self, factor: float) -> Rate:
        return Rate(self.client * factor, self.executed * factor)

    def per_month(self) -> Rate:
        return self * MINUTES_PER_MONTH


@dataclass(frozen=True)
class WorkerProfile:
    """What one idle always-on worker's calls cost, measured per BullMQ implementation."""

    name: str
    # Commands inside one moveToActive script call on an empty queue.
    move_to_active_inner: int = 6
    # Commands inside a stalled-jobs check that runs, and one that finds the throttle key set.
    stalled_check_inner: int = 6
    stalled_skip_inner: int = 1
    # Of the stalled-check calls (one per stalledInterval), the share that runs in full: the
    # check's timer and its throttle key share one period, so some find the key still set.
    stalled_full_share: float = 0.75
    # A worker whose idle loop the structure above does not describe, measured as a whole.
    measured_idle: Rate | None = None


NODE_BULLMQ_5 = WorkerProfile(
    name="Node BullMQ 5.81.5",
)
PYTHON_BULLMQ_3 = WorkerProfile(
    name="Python bullmq 3.4",
    # Measured idle, defaults, concurrency 1 and 10 alike (23 to 28 executed a minute): its
    # blocking wait outlives redis-py's 5 s socket timeout, so it reconnects (HELLO, CLIENT
    # SETNAME) and waits only about 3 times a minute; the stalled checks are most of the cost.
    # Idle concurrency slots add no calls.
    measured_idle=Rate(client=12.5, executed=26),
)
DRAINBOARD_ALWAYS = WorkerProfile(
    name="drainboard worker --mode always",
    # Python bullmq with no socket timeout on its connection: it idles as Node BullMQ does.
)
PROFILES = {"node": NODE_BULLMQ_5, "python": PYTHON_BULLMQ_3, "drainboard": DRAINBOARD_ALWAYS}


@dataclass(frozen=True)
class Assumptions:
    """The what-if form's inputs."""

    queues: int = 5
    workers_per_queue: int = 1
    worker: str = "node"
    drain_delay_s: float = 5
    stalled_interval_ms: int = 30_000
    delayed_jobs: bool = False
    queue_events: int = 0
    cron_interval_min: float = 5
    on_demand_startups_per_day: float = 0
    # Scheduled (repeatable or delayed) jobs that fall due and run, a day, over all queues:
    # a nightly job plus a monthly one, as the demo schedules, are about 1.03.
    scheduled_runs_per_day: float = 0
    quota: int = DEFAULT_QUOTA
    price_per_100k: float = DEFAULT_PRICE_PER_100K

    def with_changes(self, **changes: Any) -> Assumptions:
        return replace(self, **changes)


def always_on_worker(a: Assumptions) -> Rate:
    """One idle always-on worker: a blocking wait on the marker, a moveToActive after each wait,
    and the stalled-jobs check every stalledInterval."""
    profile = PROFILES[a.worker]
    if profile.measured_idle is not None:
        return profile.measured_idle
    # With a delayed job waiting, a worker blocks until it is due, at most 10 s at a time.
    block_s = MAX_BLOCK_WITH_DELAYED_S if a.delayed_jobs else a.drain_delay_s
    waits = 60 / block_s
    stalled_calls = 60_000 / a.stalled_interval_ms
    full = stalled_calls * profile.stalled_full_share
    skipped = stalled_calls - full
    return Rate(
        client=waits * 2 + stalled_calls,
        executed=waits * (1 + 1 + profile.move_to_active_inner)
        + full * (1 + profile.stalled_check_inner)
        + skipped * (1 + profile.stalled_skip_inner),
    )


def queue_events(listeners: int) -> Rate:
    per_listener = 60 / QUEUE_EVENTS_BLOCK_S
    return Rate(per_listener, per_listener) * listeners


def always_on(a: Assumptions) -> Rate:
    return always_on_worker(a) * (a.queues * a.workers_per_queue) + queue_events(a.queue_events)


# What one idle tick of a cron drain costs, by probe. Drainboard's (dashboard/drain/probe.py):
# one EXISTS over all queues and the idle record's SET; when idle queues hold delayed or
# repeatable jobs not yet due, also a GET of the probe's notes and one XREAD of the events streams.
DRAINBOARD_IDLE_TICK = Rate(client=2, executed=2)
DRAINBOARD_IDLE_TICK_SCHEDULED = Rate(client=4, executed=4)
# The usual estimate of a cron drain's probe: four commands per queue per tick.
SEED_PROBE_PER_QUEUE = Rate(client=4, executed=4)
# Node BullMQ's getJobCounts() as it really runs: one EVALSHA that runs 10 commands.
GETJOBCOUNTS_PER_QUEUE = Rate(client=1, executed=11)
# One scheduled job falling due, over the idle ticks it replaces: the tick that runs it (probe,
# a look at its queue, moveToActive, the scheduler's next iteration through bullmq's scripts,
# moveToFinished, the history entry: 17 client, 74 executed) and the next tick's look at the
# queue that changed (11 and 11), less two idle ticks (4 and 4). Measured on Redis 7 with a job
# scheduler's no-op job, removeOnComplete set (tests/integration/test_cost_validation.py).
SCHEDULED_RUN = Rate(client=20, executed=77)


def drainboard_idle_tick(a: Assumptions) -> Rate:
    scheduled = a.delayed_jobs or a.scheduled_runs_per_day > 0
    return DRAINBOARD_IDLE_TICK_SCHEDULED if scheduled else DRAINBOARD_IDLE_TICK


def scheduled_runs(a: Assumptions) -> Rate:
    """Running the scheduled jobs themselves, whichever way the drain is triggered."""
    return SCHEDULED_RUN * (a.scheduled_runs_per_day / (24 * 60))


def cron_drain(a: Assumptions, probe: str = "drainboard") -> Rate:
    ticks_per_minute = 1 / a.cron_interval_min
    if probe == "drainboard":
        per_tick = drainboard_idle_tick(a)
    elif probe == "seed":
        per_tick = SEED_PROBE_PER_QUEUE * a.queues
    else:
        per_tick = GETJOBCOUNTS_PER_QUEUE * a.queues
    return per_tick * ticks_per_minute + scheduled_runs(a)


def on_demand(a: Assumptions) -> Rate:
    """On-demand workers: none while idle; each start-up checks every queue for orphaned jobs,
    with the same probe as a drain; each scheduled job that falls due is run as a drain runs it."""
    return drainboard_idle_tick(a) * (a.on_demand_startups_per_day / (24 * 60)) + scheduled_runs(a)


@dataclass(frozen=True)
class ModeCost:
    mode: str
    label: str
    per_minute: Rate
    note: str

    def month(self) -> Rate:
        return self.per_minute.per_month()


def modes(a: Assumptions) -> list[ModeCost]:
    """The ways to run the workers, each named by the Drainboard command or setting that
    runs it."""
    minutes = format(a.cron_interval_min, "g")
    workers = a.queues * a.workers_per_queue
    always = (
        N_("`drainboard worker --mode always`: %(n)s always-on workers", n=workers)
        if a.worker == "drainboard"
        else N_(
            "Always-on workers: %(n)s %(kind)s Workers", n=workers, kind=PROFILES[a.worker].name
        )
    )
    return [
        ModeCost(
            "always",
            always,
            always_on(a),
            N_(
                "each blocks %(wait)s s at a time waiting for a job (`--drain-delay`, BullMQ's "
                "drainDelay) and checks for stalled jobs every %(ms)s ms (`--stalled-interval-ms`, "
                "BullMQ's stalledInterval)",
                wait=format(a.drain_delay_s, "g"),
                ms=a.stalled_interval_ms,
            ),
        ),
        ModeCost(
            "cron",
            N_(
                "`drainboard worker --mode cron` and `drainboard drain` (or the cron endpoint) "
                "every %(m)s min",
                m=minutes,
            ),
            cron_drain(a),
            _cron_note(a),
        ),
        ModeCost(
            "cron-seed",
            N_(
                "A cron drain every %(m)s min that probes each queue with BullMQ's getJobCounts()",
                m=minutes,
            ),
            cron_drain(a, "getjobcounts"),
            N_("for comparison: getJobCounts per queue is 1 EVALSHA running 10 commands"),
        ),
        ModeCost(
            "on-demand",
            N_("`drainboard worker --mode on-demand`: a worker per queue only while it has jobs"),
            on_demand(a),
            N_(
                "idle 0; %(n)s start-up checks a day%(runs)s",
                n=format(a.on_demand_startups_per_day, "g"),
                runs=_runs_note(a),
            ),
        ),
    ]


def _runs_note(a: Assumptions) -> str:
    if not a.scheduled_runs_per_day:
        return ""
    return N_(
        "; %(n)s scheduled job runs a day at %(each)s commands each",
        n=format(a.scheduled_runs_per_day, "g"),
        each=format(SCHEDULED_RUN.executed, "g"),
    )


def _cron_note(a: Assumptions) -> str:
    tick = drainboard_idle_tick(a)
    how = (
        N_("EXISTS, GET of the probe's notes, XREAD of the events streams and one SET")
        if tick == DRAINBOARD_IDLE_TICK_SCHEDULED
        else N_("one EXISTS over all queues and one SET")
    )
    return N_(
        "%(n)s commands per idle tick: %(how)s%(runs)s",
        n=format(tick.executed, "g"),
        how=how,
        runs=_runs_note(a),
    )


def bill(commands_per_month: float, a: Assumptions) -> dict[str, float]:
    return {
        "quotaShare": commands_per_month / a.quota if a.quota else 0.0,
        "dollars": commands_per_month / 100_000 * a.price_per_100k,
    }


def recommendation(a: Assumptions, measured_per_month: float | None = None) -> dict[str, str]:
    """Which mode to pick for a workload, applied to the projection: always-on for steady
    traffic, a cron drain for scheduled batches, on-demand for rare bursts."""
    always = always_on(a).per_month().executed
    spend = measured_per_month if measured_per_month is not None else always
    if spend > a.quota:
        drain = cron_drain(a.with_changes(cron_interval_min=5)).per_month().executed
        return {
            "workload": N_("Free-tier Redis (Upstash 500K, Fly Redis, etc.)"),
            "pick": N_("`drainboard worker --mode cron` and `drainboard drain` every 5 min"),
            "why": N_(
                "idle always-on workers alone would spend %(n)s commands a month, %(share)s of "
                "the %(quota)s quota; a 5-minute drain costs %(drain)s.",
                n=round(always),
                share=format(always / a.quota, ".0%"),
                quota=a.quota,
                drain=round(drain),
            ),
        }
    return {
        "workload": N_("Paid Redis + active batch/journey traffic"),
        "pick": "`drainboard worker --mode always`",
        "why": N_("the quota holds idle always-on workers; keep job latency at zero."),
    }


# The usual back-of-the-envelope tables, from their own assumptions.
# The usual estimate for five idle always-on workers: about 30 commands a minute.
SEED_ALWAYS_ON_OPS_PER_MINUTE = 30


def seed_tables() -> dict[str, Any]:
    """The usual estimates recomputed: five idle queues, 4 commands per queue per tick, a
    30-day month."""
    seed = Assumptions()
    return {
        "alwaysOn": SEED_ALWAYS_ON_OPS_PER_MINUTE * MINUTES_PER_MONTH,  # ~1,300,000
        "cron": {
            minutes: round(
                cron_drain(seed.with_changes(cron_interval_min=minutes), "seed").per_month().client
            )
            for minutes in (5, 15, 30)
        },  # ~173,000, ~58,000, ~29,000
    }


DIFFERENCES = (
    N_(
        "The usual estimate counts an idle always-on worker at about 6 commands a minute (30 for "
        "five). Node BullMQ 5 blocks on its marker for drainDelay (5 s; `--drain-delay` of "
        "`drainboard worker`), runs a moveToActive "
        "script after each wait and a stalled-jobs check every 30 s: 26 client commands a minute "
        "per worker, and, counting the commands inside the scripts, which a per-command bill also "
        "counts, about 107."
    ),
    N_(
        "The usual estimate counts a cron probe at 4 commands per queue. Node BullMQ's "
        "getJobCounts() is one EVALSHA per queue that runs 10 commands inside: 11 billed commands "
        "per queue per tick."
    ),
    N_(
        "Drainboard's drain probes all queues with one EXISTS and notes the idle tick with one "
        "SET: 2 commands per tick, whatever the number of queues. Delayed or repeatable jobs not "
        "yet due add a GET and an XREAD: 4 per tick; a scheduled job that falls due costs about "
        "77 more."
    ),
)


def projection(a: Assumptions) -> dict[str, Any]:
    """Everything the panel, `GET api/cost` and `drainboard cost` show, as plain data."""
    return {
        "assumptions": asdict(a),
        "modes": [
            {
                "mode": m.mode,
                "label": m.label,
                "note": m.note,
                "perMinute": asdict(m.per_minute),
                "perMonth": asdict(m.month()),
                **bill(m.month().executed, a),
            }
            for m in modes(a)
        ],
        "seedTables": seed_tables(),
        "differences": list(DIFFERENCES),
    }
