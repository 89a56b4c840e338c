"""Drainboard's own read-only Lua scripts, sent by SHA inside ordinary pipelines.

redis-py's Script objects check `SCRIPT EXISTS` before every pipeline that carries them: one more
round trip and command per request. Here a pipeline sends bare EVALSHAs; only when Redis answers
NOSCRIPT (first use, or after a restart or SCRIPT FLUSH) are the scripts loaded and the pipeline
sent again. The scripts only read, so sending a pipeline twice changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from dashboard.reader import execute


@dataclass(frozen=True)
class ReadScript:
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())

    def call(self, pipe: Any, keys: tuple[str, ...], args: tuple[Any, ...]) -> None:
        pipe.evalsha(self.sha, len(keys), *keys, *args)


async def run(redis: Redis, script: ReadScript, fill: Callable[[Any], None]) -> list[Any]:
    """One round trip: `fill` queues the script calls on a pipeline; NOSCRIPT loads and resends."""
    for attempt in (1, 2):
        pipe = redis.pipeline(transaction=False)
        fill(pipe)
        try:
            return await execute(pipe)
        except NoScriptError:
            if attempt == 2:
                raise
            await redis.script_load(script.source)
    raise AssertionError("unreachable")
