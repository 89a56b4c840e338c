"""Who is connected to each queue, from one CLIENT LIST read on demand (never polled).

Node BullMQ names its Worker connections `<prefix>:<base64(queue)>` and its QueueEvents
`<prefix>:<base64(queue)>:qe`; the Python `bullmq` port names them `<prefix>:<queue>` (with
`:w:<worker name>` for named workers, and the same `:qe` suffix). Drainboard names its own
connections `drainboard:…` (connection.connect), so they are never taken for workers.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, NamedTuple

from redis.exceptions import ResponseError

from dashboard.i18n import N_
from dashboard.redis_client.connection import Client as RedisClient
from dashboard.redis_client.connection import on_primaries
from dashboard.redis_client.counting import count_reads

OWN_PREFIX = "drainboard"
KINDS = ("node-worker", "python-worker", "queue-events", "drainboard")


@dataclass(frozen=True)
class Client:
    kind: str  # one of KINDS
    queue: str | None  # None for Drainboard's own connections
    name: str
    address: str
    age_s: int
    idle_s: int
    command: str

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "address": self.address,
            "ageSeconds": self.age_s,
            "idleSeconds": self.idle_s,
            "lastCommand": self.command,
        }


def _base64_queue(token: str, queues: set[str]) -> str | None:
    try:
        decoded = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if decoded in queues else None


def _parse_name(name: str, prefix: str, queues: set[str]) -> tuple[str, str, bool] | None:
    """(queue, runtime, events) for a BullMQ connection name, None for any other name. The
    runtime is "node" (base64 queue name), "python", or "drainboard" (`drainboard worker`);
    `events` marks a QueueEvents listener (`:qe`)."""
    head = f"{prefix}:"
    if not name.startswith(head):
        return None
    rest = name[len(head) :]
    events = rest.endswith(":qe")
    if events:
        rest = rest[:-3]
    token, _, worker_name = rest.partition(":w:")
    if token in queues:
        return token, "drainboard" if worker_name.startswith("drainboard") else "python", events
    if found := _base64_queue(token, queues):
        return found, "node", events
    return None


WORKER_KINDS = {"node": "node-worker", "python": "python-worker", "drainboard": "drainboard"}


class Identity(NamedTuple):
    kind: str  # one of KINDS
    queue: str | None  # None for Drainboard's own connections
    runtime: str  # "node", "python" or "drainboard"


def identify(name: str, prefix: str, queues: set[str]) -> Identity | None:
    """Who a connection is, from its name alone, or None when it is nobody we know. The one
    classifier of CLIENT LIST entries: the workers views and the cost measurement use it."""
    if name == OWN_PREFIX or name.startswith(f"{OWN_PREFIX}:"):
        return Identity("drainboard", None, "drainboard")
    parsed = _parse_name(name, prefix, queues)
    if parsed is None:
        return None
    queue, runtime, events = parsed
    return Identity("queue-events" if events else WORKER_KINDS[runtime], queue, runtime)


def _client(entry: dict[str, Any], prefix: str, queues: set[str]) -> Client | None:
    name = str(entry.get("name") or "")
    known = identify(name, prefix, queues)
    if known is None:
        return None
    kind, queue, _ = known
    return Client(
        kind=kind,
        queue=queue,
        name=name,
        address=str(entry.get("addr") or ""),
        age_s=int(entry.get("age") or 0),
        idle_s=int(entry.get("idle") or 0),
        command=str(entry.get("cmd") or ""),
    )


async def read_clients(redis: RedisClient, prefix: str, queues: list[str]) -> list[Client] | str:
    """Every known connection, or the sentence saying why CLIENT LIST cannot be read. On a
    cluster, every primary's: a worker's connections sit on the node of its queue's slot."""
    try:
        replies = await on_primaries(redis, "client_list")
    except ResponseError as err:
        count_reads(1)
        return N_(
            "This Redis refused CLIENT LIST (%(error)s); some managed services disable it, so "
            "its connections cannot be shown here.",
            error=str(err),
        )
    count_reads(len(replies))
    known = set(queues)
    entries = [entry for reply in replies for entry in reply]
    return [c for entry in entries if (c := _client(entry, prefix, known)) is not None]


def for_queue(clients: list[Client], queue: str) -> dict[str, list[Client]]:
    """One queue's connections by kind (`drainboard`: its always-on workers for the queue)."""
    return {kind: [c for c in clients if c.kind == kind and c.queue == queue] for kind in KINDS}


def own(clients: list[Client]) -> list[Client]:
    """The dashboard's own connections (`drainboard:web`, `drainboard:watcher`, …)."""
    return [c for c in clients if c.queue is None]


def has_worker(clients: list[Client], queue: str) -> bool:
    """A Node, Python or `drainboard worker --mode always` worker serves the queue."""
    return any(c.queue == queue and c.kind != "queue-events" for c in clients)
