"""Live measurement: who is spending Redis commands right now.

Two INFO commandstats samples some seconds apart give the executed commands per minute, by
command; one CLIENT LIST shows the BullMQ connections and which queue each belongs to. Node
BullMQ names its connections `<prefix>:<base64(queue)>` (QueueEvents add `:qe`), the Python port
`<prefix>:<queue>`. The measurement itself costs 3 commands. Managed services may refuse INFO
sections or CLIENT LIST: that is reported, and the panel falls back to the model.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ResponseError

from dashboard.observe.clients import identify
from dashboard.observe.cost import MINUTES_PER_MONTH, Assumptions, always_on_worker, queue_events
from dashboard.redis_client.connection import Client, on_primaries

BLOCKING_COMMANDS = {"bzpopmin", "brpoplpush", "blmove", "bzpopmax", "xread", "blpop", "brpop"}
MEASUREMENT_COST = 4  # two INFO commandstats and two CLIENT LIST, on each primary


@dataclass(frozen=True)
class Connection:
    queue: str | None
    kind: str  # "worker", "queue-events", "client"
    runtime: str  # "node", "python", "drainboard", "other"
    name: str
    idle_s: int
    command: str
    blocked: bool
    # `<primary>:<client id>`: a connection's identity across two CLIENT LISTs.
    id: str = ""
    # CLIENT LIST's `tot-cmds` (Valkey, Redis 7.4+): the commands it executed, those run inside
    # its scripts included, as INFO commandstats counts them; None where the server has none
    # (Redis 7.0).
    commands: int | None = None
    age_s: int = 0
    host: str = ""  # the client's IP address, without its port


def classify(client: dict[str, Any], prefix: str, queues: set[str], primary: int = 0) -> Connection:
    """One CLIENT LIST entry: which queue it serves, whether it is a worker, and whose."""
    name = str(client.get("name") or "")
    command = str(client.get("cmd") or "").split("|")[0]
    blocked = "b" in str(client.get("flags") or "")
    idle_s = int(client.get("idle") or 0)
    who = identify(name, prefix, queues)
    queue = who.queue if who else None
    # Drainboard's own connections (no queue) are plain clients here, whatever their name says.
    runtime = who.runtime if who and queue else "other"
    if who and who.kind == "queue-events":
        kind = "queue-events"
    elif queue and command in BLOCKING_COMMANDS:
        kind = "worker"
    else:
        kind = "client"
    total = client.get("tot-cmds")
    commands = int(total) if total is not None else None
    identity = f"{primary}:{client.get('id', '')}"
    host = str(client.get("addr") or "").rpartition(":")[0]
    age_s = int(client.get("age") or 0)
    return Connection(
        queue, kind, runtime, name, idle_s, command, blocked, identity, commands, age_s, host
    )


@dataclass
class Measurement:
    seconds: float
    per_minute: dict[str, float] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    primaries: int = 1  # a cluster's figures are the sum over its primaries
    elapsed: float = 0.0  # the window as it ran, which the per-minute figures divide by
    # Commands each connection executed over the window (by Connection.id), from the two
    # CLIENT LISTs' `tot-cmds`; None where the server does not count per connection.
    executed_by_connection: dict[str, int] | None = None
    # This process's own commands over the same window, by what sent them (the change watcher,
    # page reads, alerts), from its own counts; None when the caller keeps none.
    own: dict[str, int] | None = None
    # Connections showing that a connection of the same client closed in the window (see
    # `closing`): the commands of closed connections are theirs.
    closing: list[Connection] = field(default_factory=list)

    @property
    def total_per_minute(self) -> float:
        return sum(self.per_minute.values())

    @property
    def per_month(self) -> float:
        return self.total_per_minute * MINUTES_PER_MONTH

    def spenders(self, a: Assumptions) -> list[dict[str, Any]]:
        """Who spends: BullMQ connections grouped by queue and kind, each with the model's
        idle rate for it, so the table adds up against the measured total."""
        groups: dict[tuple[str, str, str], int] = {}
        for c in self.connections:
            if c.queue and c.kind != "client":
                key = (c.queue, c.kind, c.runtime)
                groups[key] = groups.get(key, 0) + 1
        rows = []
        for (queue, kind, runtime), count in sorted(groups.items()):
            if kind == "worker":
                rate = always_on_worker(a.with_changes(worker=runtime)).executed * count
            else:
                rate = queue_events(count).executed
            rows.append(
                {
                    "queue": queue,
                    "kind": kind,
                    "runtime": runtime,
                    "mode": "always-on" if kind == "worker" else "listener",
                    "connections": count,
                    "modelPerMinute": round(rate, 1),
                    "modelPerMonth": round(rate * MINUTES_PER_MONTH),
                }
            )
        return rows

    def running_mode(self) -> str:
        """What the connections say about how jobs are processed here."""
        if any(c.kind == "worker" for c in self.connections):
            return "always"
        return "cron or on-demand"

    def split(self) -> dict[str, float | None]:
        """This dashboard's own commands a minute, the rest (workers and other clients), and the
        total, all over the one window; None for what was not measured."""
        refused = any(r.startswith("INFO") for r in self.refused)
        total = None if refused else self.total_per_minute
        if self.own is None or not self.elapsed:
            return {"dashboard": None, "watcher": None, "others": None, "total": total}
        own = sum(self.own.values()) * 60 / self.elapsed
        return {
            "dashboard": own,
            "watcher": self.own.get("watcher", 0) * 60 / self.elapsed,
            # The watcher's blocking read is counted when sent and by Redis when it returns: a
            # window can see the dashboard's figure a little above the total, never others < 0.
            "others": None if total is None else max(total - own, 0.0),
            "total": total,
        }

    def as_json(self, a: Assumptions) -> dict[str, Any]:
        split = self.split()
        return {
            "seconds": self.seconds,
            "dashboardPerMinute": _tenth(split["dashboard"]),
            "dashboardWatcherPerMinute": _tenth(split["watcher"]),
            "othersPerMinute": _tenth(split["others"]),
            "executedPerMinute": _tenth(split["total"]),
            "executedPerMonth": None if split["total"] is None else round(self.per_month),
            "quotaShare": None
            if split["total"] is None or not a.quota
            else self.per_month / a.quota,
            "byCommand": {k: round(v, 1) for k, v in sorted(self.per_minute.items())},
            "spenders": self.spenders(a),
            "runningMode": self.running_mode(),
            "connections": [c.__dict__ for c in self.connections],
            "refused": self.refused,
            "measurementCost": MEASUREMENT_COST * self.primaries,
            "primaries": self.primaries,
        }


def _tenth(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _calls(stats: dict[str, Any]) -> dict[str, int]:
    return {
        key.removeprefix("cmdstat_"): int(value["calls"])
        for key, value in stats.items()
        if key.startswith("cmdstat_")
    }


def _summed_calls(replies: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for reply in replies:
        for name, calls in _calls(reply).items():
            total[name] = total.get(name, 0) + calls
    return total


async def executed_so_far(redis: Client) -> tuple[int, int]:
    """Commands every primary has executed since it started (one INFO commandstats each), and
    the number of primaries: a later reading less this one, less one INFO per primary, is what
    ran in between."""
    samples = await on_primaries(redis, "info", "commandstats")
    return sum(_summed_calls(samples).values()), len(samples)


async def measure(
    redis: Client,
    prefix: str,
    queues: list[str],
    seconds: float,
    own: Callable[[], Mapping[str, int]] | None = None,
) -> Measurement:
    """Commands a minute from two INFO commandstats `seconds` apart, and who is connected from
    a CLIENT LIST on each side of the window (outside it, so they are not counted). `own` reads
    the caller's own running counts, taken at both ends of the same window."""
    result = Measurement(seconds=seconds)
    known = set(queues)
    before = await _connections(redis, prefix, known, result)
    try:
        samples = await on_primaries(redis, "info", "commandstats")
        result.primaries = len(samples)
        first = _summed_calls(samples)
        own_first = dict(own()) if own else {}
        started = time.monotonic()
        await asyncio.sleep(seconds)
        second = _summed_calls(await on_primaries(redis, "info", "commandstats"))
        elapsed = time.monotonic() - started
        if own:
            result.own = {k: n - own_first.get(k, 0) for k, n in own().items()}
        result.elapsed = elapsed
        second["info"] = second.get("info", 0) - result.primaries  # the first samples themselves
        result.per_minute = {
            name: (calls - first.get(name, 0)) * 60 / elapsed
            for name, calls in second.items()
            if calls - first.get(name, 0) > 0
        }
    except ResponseError as err:
        result.refused.append(f"INFO commandstats: {err}")
    after = await _connections(redis, prefix, known, result)
    result.connections = merged(before, after)
    result.executed_by_connection = executed_by_connection(before, after)
    result.closing = closing(before, after)
    return result


def closing(before: list[Connection], after: list[Connection]) -> list[Connection]:
    """The connections that show a connection of their client closed in the window: those open
    at its start and gone at its end, and, at either end, a worker's connections while it has no
    blocking one (the Python `bullmq` package closes its blocking connection after each wait
    and opens a new one about 2 s later)."""
    ids = {c.id for c in after}
    shown = [c for c in before if c.id not in ids]
    for end in (before, after):
        blocking = {c.name for c in end if c.kind == "worker"}
        shown += [c for c in end if c.queue and c.kind == "client" and c.name not in blocking]
    return shown


def executed_by_connection(
    before: list[Connection], after: list[Connection]
) -> dict[str, int] | None:
    """What each connection open at the window's end executed in it: its `tot-cmds` less the
    figure at the start, or all of it for a connection opened in the window. A connection
    closed in the window is not in the end's list: its commands are the unaccounted part."""
    if not after or any(c.commands is None for c in after):
        return None
    start = {c.id: c.commands or 0 for c in before}
    return {c.id: (c.commands or 0) - start.get(c.id, 0) for c in after}


async def _connections(
    redis: Client, prefix: str, queues: set[str], result: Measurement
) -> list[Connection]:
    try:
        return [
            classify(c, prefix, queues, primary)
            for primary, clients in enumerate(await on_primaries(redis, "client_list"))
            for c in clients
        ]
    except ResponseError as err:
        refusal = f"CLIENT LIST: {err}"
        if refusal not in result.refused:
            result.refused.append(refusal)
        return []


def merged(before: list[Connection], after: list[Connection]) -> list[Connection]:
    """The connections at the window's end, and the workers and listeners seen at its start
    beyond those at its end (by name): a worker is told apart by its blocking read, and one
    between two of them (the Python package drops its blocking connection for about 2 s of
    every 7) is still a worker."""
    at_end = Counter((c.name, c.kind) for c in after if c.kind != "client")
    at_start: Counter[tuple[str, str]] = Counter()
    missing = []
    for connection in before:
        if connection.kind == "client":
            continue
        key = (connection.name, connection.kind)
        at_start[key] += 1
        if at_start[key] > at_end[key]:
            missing.append(connection)
    return after + missing
