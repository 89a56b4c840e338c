"""Drainboard's own read-only Lua scripts, sent by SHA inside ordinary pipelines.

redis-py's Script objects check `SCRIPT EXISTS` before every pipeline that carries them: one more
round trip and command per request. Here a pipeline sends bare EVALSHAs; only when Redis answers
NOSCRIPT (first use, or after a restart or SCRIPT FLUSH) are the scripts loaded and the pipeline
sent again. The scripts only read, so sending a pipeline twice changes nothing.

On a Redis Cluster, redis-py refuses EVALSHA in pipelines: the calls go out one by one, all at
once (each to the node holding its keys), so a request still waits for one round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import NoScriptError

from dashboard.redis_client.connection import Client, is_cluster
from dashboard.redis_client.counting import READ_TIMEOUT_S, count_reads, execute

Call = tuple[tuple[str, ...], tuple[Any, ...]]  # (keys, args)


@dataclass(frozen=True)
class ReadScript:
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


async def run(redis: Client, script: ReadScript, calls: list[Call]) -> list[Any]:
    """The script's answer for each call, in order; NOSCRIPT loads the script and resends."""
    for attempt in (1, 2):
        try:
            if is_cluster(redis):
                return await _each(redis, script, calls)
            pipe = redis.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return await execute(pipe)
        except NoScriptError:
            if attempt == 2:
                raise
            await redis.script_load(script.source)
    raise AssertionError("unreachable")


async def _each(redis: Client, script: ReadScript, calls: list[Call]) -> list[Any]:
    count_reads(len(calls))
    async with asyncio.timeout(READ_TIMEOUT_S):
        return list(
            await asyncio.gather(
                *(redis.evalsha(script.sha, len(keys), *keys, *args) for keys, args in calls)
            )
        )
