"""The quota view: who spends Redis commands over a measured window, what that makes over the
month against the quota, and what to change, in Drainboard's own terms.

It reads one `measure()` (INFO commandstats and CLIENT LIST on each side of the window). Per
client, the figure is measured where the server counts commands per connection (CLIENT LIST's
`tot-cmds`: Valkey, Redis 7.4+, scripts' inner commands included); elsewhere (Redis 7.0) it is
the cost model's idle rate for that kind of client, and the report says so. Connections are
named by the one classifier, clients.identify. A connection that closed in the window leaves no
count behind; when only one client's connections closed, what Redis executed beyond the open
connections' counts is that client's (see `closed_by`), else it stays unaccounted, naming them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from dashboard.i18n import N_, Np_
from dashboard.observe.clients import identify
from dashboard.observe.cost import (
    MINUTES_PER_MONTH,
    Assumptions,
    always_on_worker,
    bill,
    cron_drain,
    queue_events,
)
from dashboard.observe.measure import MEASUREMENT_COST, Connection, Measurement

MIN_SECONDS = 10
MAX_SECONDS = 300
DAYS_PER_MONTH = MINUTES_PER_MONTH // (24 * 60)
# The measuring connection's own commands that its `tot-cmds` counts in the window but INFO
# commandstats does not (the first CLIENT LIST and both INFO), on each primary.
OWN_IN_WINDOW = 3
KIND_LABELS = {
    "node-worker": N_("Node worker"),
    "python-worker": N_("Python worker"),
    "queue-events": "QueueEvents",
    "drainboard": "Drainboard",
    "other": N_("other"),
}
# A client spending less than this share of the quota is not worth a change.
BIG_SHARE = 0.05
CRON_EVERY_MIN = 5


@dataclass
class Spender:
    kind: str  # a KIND_LABELS key
    queue: str | None
    name: str
    connections: int = 0
    workers: int = 0  # connections waiting in a worker's blocking read
    executed: float | None = None  # over the window, where measured
    # Node BullMQ names a Worker's blocking connection only; its command connection (the
    # scripts) is unnamed. Those paired with it are counted here (see _pair_unnamed).
    paired: float = 0
    # Of `executed`, what its connections closed in the window ran (see _attribute_closed).
    closed: float = 0
    last_commands: set[str] = field(default_factory=set)
    # `executed` is this dashboard's own count of what it sent, where Redis counts no client.
    self_counted: bool = False


def _identity(c: Connection, prefix: str, queues: set[str]) -> tuple[str, str | None]:
    who = identify(c.name, prefix, queues)
    if who is None:
        return "other", None
    return who.kind, who.queue


Key = tuple[str, str | None, str]  # kind, queue, and the name of an "other" client
DASHBOARD: Key = ("drainboard", None, "")  # Drainboard's dashboards: no queue of their own


def _key(c: Connection, prefix: str, queues: set[str]) -> Key:
    kind, queue = _identity(c, prefix, queues)
    return kind, queue, c.name if kind == "other" else ""


def spenders(m: Measurement, prefix: str, queues: set[str]) -> list[Spender]:
    """The connections at the window's end grouped by client name: a Node worker's blocking
    and command connections are one client."""
    measured = m.executed_by_connection
    groups: dict[Key, Spender] = {}
    unnamed = _pair_unnamed(m.connections, measured, prefix, queues, groups)
    for c in m.connections:
        if not c.name and c not in unnamed:
            continue
        key = _key(c, prefix, queues)
        row = groups.setdefault(key, Spender(*key))
        row.connections += 1
        row.workers += c.kind == "worker"
        if c.command:
            row.last_commands.add(c.command)
        if measured is not None and c.id in measured:
            row.executed = (row.executed or 0) + measured[c.id]
    own = groups.get(DASHBOARD)
    if measured is None and m.own is not None and own is not None:
        # No count per connection here, but this dashboard keeps its own.
        own.executed = sum(m.own.values())
        own.self_counted = True
    if measured is not None:
        if own is not None and own.executed is not None:
            own.executed = max(0, own.executed - OWN_IN_WINDOW * m.primaries)
        owner = closed_by(m, prefix, queues)
        closed = m.total_per_minute * m.elapsed / 60 - sum(
            row.executed or 0 for row in groups.values()
        )
        if owner is not None and closed > 0:
            row = groups.setdefault(owner, Spender(*owner))
            row.executed = (row.executed or 0) + closed
            row.closed = closed
    return list(groups.values())


def closing_clients(m: Measurement, prefix: str, queues: set[str]) -> set[Key]:
    """The clients of which a connection closed in the window (Measurement.closing)."""
    return {_key(c, prefix, queues) for c in m.closing}


def closed_by(m: Measurement, prefix: str, queues: set[str]) -> Key | None:
    """The one client whose connections closed in the window, if only one's did: what Redis
    executed less what every open connection executed is theirs. CLIENT LIST keeps no count for
    a closed connection, but a client's name outlives its reconnections."""
    closing = closing_clients(m, prefix, queues)
    return next(iter(closing)) if len(closing) == 1 else None


def _pair_unnamed(
    connections: list[Connection],
    measured: dict[str, int] | None,
    prefix: str,
    queues: set[str],
    groups: dict[Key, Spender],
) -> list[Connection]:
    """Give each Node worker the unnamed connections opened from its host in the same second
    as its named blocking connection (BullMQ opens both as the Worker starts): their commands
    are shared evenly between the Node workers opened in that second. Returns the unnamed
    connections no worker claims, which stay "other"."""
    workers: dict[tuple[str, int], list[tuple[str, str | None, str]]] = {}
    for c in connections:
        kind, queue = _identity(c, prefix, queues)
        if kind == "node-worker" and c.kind == "worker":
            workers.setdefault((c.host, c.age_s), []).append((kind, queue, ""))
    left = []
    for c in connections:
        if c.name:
            continue
        around = (c.age_s - 1, c.age_s, c.age_s + 1)
        claims = [key for age in around for key in workers.get((c.host, age), [])]
        if not claims:
            left.append(c)
            continue
        for kind, queue, name in claims:
            row = groups.setdefault((kind, queue, name), Spender(kind, queue, name))
            if measured is not None:
                row.executed = (row.executed or 0) + measured.get(c.id, 0) / len(claims)
            row.paired += 1 / len(claims)
            row.last_commands.add(c.command)
    return left


def _source(row: Spender) -> str:
    """Where a client's figure comes from, as the table names it."""
    if row.executed is None:
        return "model"
    if row.self_counted:
        return "counted by this dashboard"
    return "measured, with its closed connections" if row.closed else "measured"


def _model_per_minute(row: Spender) -> float | None:
    """The cost model's idle rate for a client Redis does not count for us."""
    if row.kind == "queue-events":
        return queue_events(row.connections).executed
    runtime = {"node-worker": "node", "python-worker": "python", "drainboard": "drainboard"}
    if row.kind in runtime and row.queue and row.workers:
        return always_on_worker(Assumptions(worker=runtime[row.kind])).executed * row.workers
    return None


def _month(per_minute: float) -> int:
    return round(per_minute * MINUTES_PER_MONTH)


def advice(row: dict[str, Any], a: Assumptions) -> str | None:
    """The change for one big spender, in Drainboard's words, with the month it would cost."""
    month = row["perMonth"]
    if month is None or month < a.quota * BIG_SHARE:
        return None
    where = N_(" on %(queue)s", queue=row["queue"]) if row["queue"] else ""
    count = row["workers"] or 1
    workers = {
        "node-worker": Np_("%(count)s Node worker", "%(count)s Node workers", count),
        "python-worker": Np_("%(count)s Python worker", "%(count)s Python workers", count),
    }
    if row["queue"] and row["kind"] == "drainboard":
        workers["drainboard"] = Np_(
            "%(count)s drainboard worker", "%(count)s drainboard workers", count
        )
    if row["kind"] in workers:
        one_queue = Assumptions(queues=1, cron_interval_min=CRON_EVERY_MIN)
        return N_(
            "%(workers)s%(where)s: %(month)s a month. `drainboard drain` from a cron every "
            "%(every)s min: %(cron)s.",
            workers=workers[row["kind"]],
            where=where,
            month=month,
            every=CRON_EVERY_MIN,
            cron=_month(cron_drain(one_queue).executed),
        )
    if row["kind"] == "queue-events":
        return Np_(
            "%(count)s QueueEvents listener%(where)s: %(month)s a month. Closed when nobody "
            "reads their events: 0.",
            "%(count)s QueueEvents listeners%(where)s: %(month)s a month. Closed when nobody "
            "reads their events: 0.",
            row["connections"],
            where=where,
            month=month,
        )
    if row["kind"] == "drainboard":
        return N_(
            "This dashboard: %(month)s a month. Its live pages spend only while open: close the "
            "tabs nobody watches.",
            month=month,
        )
    return N_(
        "%(name)s: %(month)s a month; not a BullMQ or Drainboard connection.",
        name=row["name"] or N_("An unnamed client"),
        month=month,
    )


def report(m: Measurement, prefix: str, queues: list[str], a: Assumptions) -> dict[str, Any]:
    """Everything the quota view shows, as JSON an incident channel can paste."""
    minutes = (m.elapsed or m.seconds) / 60
    measured = m.executed_by_connection is not None
    rows: list[dict[str, Any]] = []
    for spender in spenders(m, prefix, set(queues)):
        if spender.executed is not None:
            per_minute: float | None = spender.executed / minutes
        else:
            per_minute = _model_per_minute(spender)
        rows.append(
            {
                "kind": spender.kind,
                "label": KIND_LABELS[spender.kind],
                "queue": spender.queue,
                "name": spender.name,
                "connections": spender.connections + round(spender.paired),
                "workers": spender.workers,
                "source": _source(spender),
                "executedPerMinute": None if per_minute is None else round(per_minute, 1),
                "closedPerMinute": round(spender.closed / minutes, 1),
                "perMonth": None if per_minute is None else _month(per_minute),
                "lastCommands": sorted(spender.last_commands),
            }
        )
    rows.sort(key=lambda r: -(r["executedPerMinute"] or 0))
    for row in rows:
        row["change"] = advice(row, a)
    total = m.total_per_minute
    clients = sum(r["executedPerMinute"] or 0 for r in rows)
    per_day = total * 24 * 60
    lasts = a.quota / per_day if per_day else math.inf
    return {
        "seconds": round(m.elapsed or m.seconds, 1),
        "perClient": "measured" if measured else "model",
        "perClientNote": (
            N_(
                "Each client's figure is what Redis counted for its connections (CLIENT LIST "
                "tot-cmds). A Node worker's command connection has no name: it is the unnamed "
                "one opened from the worker's host in the same second as its named one. Redis "
                "keeps no count for a connection that closed in the window: when one client's "
                "connections closed (the Python `bullmq` worker reopens its blocking one every "
                "few seconds), Redis' total less every open connection's count is that client's."
            )
            if measured
            else N_(
                "This server does not count commands per connection (CLIENT LIST has no "
                "tot-cmds before Redis 7.4): each client's figure is the cost model's idle rate "
                "for its kind, and busy clients spend more. Drainboard's is what this dashboard "
                "counted itself sending (another dashboard on this Redis is not in it)."
            )
        ),
        "clients": rows,
        "redisPerMinute": round(total, 1),
        "clientsPerMinute": round(clients, 1),
        "unaccountedPerMinute": round(total - clients, 1),
        # Clients whose connections closed in the window, when there were several: what
        # those connections ran stays unaccounted, since Redis cannot say whose it was.
        "closedConnectionsOf": []
        if not measured or closed_by(m, prefix, set(queues))
        else sorted(
            f"{KIND_LABELS[kind]}{f' on {queue}' if queue else ''}{f' ({name})' if name else ''}"
            for kind, queue, name in closing_clients(m, prefix, set(queues))
        ),
        "topCommands": [
            {"command": name, "perMinute": round(rate, 1)}
            for name, rate in sorted(m.per_minute.items(), key=lambda kv: -kv[1])[:10]
        ],
        "month": {
            "quota": a.quota,
            "pricePer100k": a.price_per_100k,
            "projected": _month(total),
            **bill(_month(total), a),
            "quotaLastsDays": None if math.isinf(lasts) else round(lasts, 1),
            "runsOutOnDay": math.ceil(lasts) if lasts < DAYS_PER_MONTH else None,
        },
        "refused": m.refused,
        "measurementCost": MEASUREMENT_COST * m.primaries,
        "primaries": m.primaries,
    }
