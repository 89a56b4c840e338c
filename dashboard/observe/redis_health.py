"""The Redis server's health, from one INFO read on demand (never polled).

BullMQ loses jobs when Redis evicts keys, so any `maxmemory-policy` but `noeviction` is flagged.
Some managed services refuse INFO: that is answered with a plain sentence instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from dashboard.i18n import N_
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import count_reads
from dashboard.redis_client.replies import to_int

SAFE_POLICY = "noeviction"


@dataclass(frozen=True)
class Health:
    version: str
    used_memory: int
    peak_memory: int
    max_memory: int  # 0: no limit
    policy: str
    clients: int
    ops_per_sec: int
    uptime_s: int
    persistence: dict[str, Any]

    @property
    def eviction_warning(self) -> str | None:
        if self.policy == SAFE_POLICY:
            return None
        return N_(
            "maxmemory-policy is %(policy)s: when memory runs out Redis will delete keys, and "
            "BullMQ loses jobs. Set it to noeviction.",
            policy=repr(self.policy),
        )

    @property
    def memory_share(self) -> float | None:
        return self.used_memory / self.max_memory if self.max_memory else None

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "memory": {
                "used": self.used_memory,
                "peak": self.peak_memory,
                "max": self.max_memory,
                "policy": self.policy,
            },
            "warning": self.eviction_warning,
            "connectedClients": self.clients,
            "opsPerSec": self.ops_per_sec,
            "uptimeSeconds": self.uptime_s,
            "persistence": self.persistence,
        }


def _server_info(reply: dict[str, Any]) -> dict[str, Any]:
    """A cluster client answers per node; the first node stands for the server here."""
    if "redis_version" not in reply and reply and isinstance(next(iter(reply.values())), dict):
        return next(iter(reply.values()))
    return reply


async def read_health(redis: Client) -> Health | str:
    """The server's health, or the sentence saying why it cannot be read."""
    count_reads(1)
    try:
        info = _server_info(await redis.info())
    except ResponseError as err:
        return N_(
            "This Redis refused INFO (%(error)s); some managed services disable it, so its "
            "health cannot be shown here.",
            error=str(err),
        )
    aof = bool(to_int(info.get("aof_enabled")))
    return Health(
        version=str(info.get("valkey_version") or info.get("redis_version") or "unknown"),
        used_memory=to_int(info.get("used_memory")),
        peak_memory=to_int(info.get("used_memory_peak")),
        max_memory=to_int(info.get("maxmemory")),
        policy=str(info.get("maxmemory_policy") or "unknown"),
        clients=to_int(info.get("connected_clients")),
        ops_per_sec=to_int(info.get("instantaneous_ops_per_sec")),
        uptime_s=to_int(info.get("uptime_in_seconds")),
        persistence={
            "aofEnabled": aof,
            "rdbLastSaveTime": to_int(info.get("rdb_last_save_time")),
            "rdbChangesSinceLastSave": to_int(info.get("rdb_changes_since_last_save")),
            "rdbLastBgsaveStatus": str(info.get("rdb_last_bgsave_status") or ""),
            "aofLastWriteStatus": str(info.get("aof_last_write_status") or "") if aof else None,
        },
    )
