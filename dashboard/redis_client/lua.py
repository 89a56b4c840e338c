"""Drainboard's own read-only Lua scripts, sent by SHA inside ordinary pipelines.

redis-py's Script objects check `SCRIPT EXISTS` before every pipeline that carries them: one more
round trip and command per request. Here a pipeline sends bare EVALSHAs; only when Redis answers
NOSCRIPT (first use, or after a restart or SCRIPT FLUSH) are the scripts loaded and the pipeline
sent again. The scripts only read, so sending a pipeline twice changes nothing.

On a Redis Cluster, redis-py refuses EVALSHA in pipelines: the calls go out one by one, all at
once (each to the node holding its keys), so a request still waits for one round trip.

Redis counts a script call as the call itself and every command the script runs (INFO
commandstats; Upstash bills them so too). Each script here is sent wrapped so that it also
answers how many commands it ran, and `run` counts them for the request: any script added here is
counted right without doing anything for it.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.exceptions import NoScriptError

from dashboard.redis_client.connection import Client, is_cluster
from dashboard.redis_client.counting import ReadDeadline, count_reads, execute

Call = tuple[tuple[str, ...], tuple[Any, ...]]  # (keys, args)


# Wraps a script's body: its redis.call/pcall go through counting locals, and it answers
# {commands it ran, its own answer}.
_COUNTED = """local executed = 0
local function counted_call(...) executed = executed + 1 return redis.call(...) end
local function counted_pcall(...) executed = executed + 1 return redis.pcall(...) end
local answer = (function()
%s
end)()
return {executed, answer}
"""


@dataclass(frozen=True)
class ReadScript:
    source: str
    sent: str = field(init=False)  # what Redis runs: the source, counting its commands
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        body = self.source.replace("redis.call(", "counted_call(")
        sent = _COUNTED % body.replace("redis.pcall(", "counted_pcall(")
        object.__setattr__(self, "sent", sent)
        object.__setattr__(self, "sha", hashlib.sha1(sent.encode()).hexdigest())


def unwrapped(reply: Any) -> Any:
    """A wrapped script's own answer; the commands it ran are counted for the request."""
    count_reads(int(reply[0]))
    # A script answering nil leaves a one-item table: Lua tables end at their first nil.
    return reply[1] if len(reply) > 1 else None


async def run(redis: Client, script: ReadScript, calls: list[Call]) -> list[Any]:
    """The script's answer for each call, in order; NOSCRIPT loads the script and resends."""
    for attempt in (1, 2):
        try:
            if is_cluster(redis):
                return await _each(redis, script, calls)
            pipe = redis.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return [unwrapped(reply) for reply in await execute(pipe)]
        except NoScriptError:
            if attempt == 2:
                raise
            # SCRIPT LOAD runs on every primary of a cluster (redis-py sends it to each).
            count_reads(len(redis.get_primaries()) if isinstance(redis, RedisCluster) else 1)
            await redis.script_load(script.sent)
    raise AssertionError("unreachable")


async def _each(redis: Client, script: ReadScript, calls: list[Call]) -> list[Any]:
    count_reads(len(calls))
    with ReadDeadline():
        replies = await asyncio.gather(
            *(redis.evalsha(script.sha, len(keys), *keys, *args) for keys, args in calls)
        )
    return [unwrapped(reply) for reply in replies]


# The `bullmq` package's scripts alias redis.call (`local rcall = redis.call`): every mention is
# rewritten, not only direct calls.
_CALLS = re.compile(r"\bredis\.(p?)call\b")


# Each bullmq Worker or Queue registers the package's 35 scripts afresh: rewriting their 280 kB
# each time took 5 ms, once per queue drained.
@functools.lru_cache(maxsize=64)
def counted_source(source: str) -> str:
    """A script's source, wrapped as `_COUNTED` does, answering {commands it ran, its answer}."""
    return _COUNTED % _CALLS.sub(r"counted_\1call", source)


class CountedScript:
    """A `bullmq` package script (redis-py's AsyncScript, registered on the writes' client),
    sent wrapped so that it answers how many commands it ran; its caller gets the script's own
    answer. On a pipeline of `counting_client`'s (adding jobs in bulk, a flow), the pipeline
    unwraps it when it runs."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.wrapped = original.registered_client.register_script(counted_source(original.script))
        # Whether a cluster's primaries have the script (see `__call__`).
        self.on_cluster = False

    async def __call__(self, keys: Any = None, args: Any = None, client: Any = None) -> Any:
        if client is not None:
            if isinstance(client, ClusterPipeline) and not self.on_cluster:
                # A cluster's pipeline sends a bare EVALSHA, with no SCRIPT EXISTS before it
                # as a single server's sends: the script is loaded on every primary first.
                await self.wrapped.registered_client.script_load(self.wrapped.script)
                self.on_cluster = True
            queued = await self.wrapped(keys, args, client)
            client.counted_scripts.append((len(client) - 1, self))
            return queued
        answer = unwrapped(await self.wrapped(keys, args))
        if isinstance(answer, Exception):  # the script answered an error: raise it, as Redis would
            raise answer
        return answer


def count_scripts(commands: dict[str, Any]) -> None:
    """Count the commands inside each of these `bullmq` scripts (a RedisConnection's)."""
    for name, script in list(commands.items()):
        if not isinstance(script, CountedScript):
            commands[name] = CountedScript(script)


def counting_client(client: Client) -> Client:
    """The same client (one pool, one view of a cluster) for the `bullmq` package's writes,
    counting every command it sends, on its own or in a pipeline (with a transaction's MULTI
    and EXEC), for the request's figure and for /metrics."""
    counted = copy.copy(client)
    send = client.execute_command
    make_pipeline = client.pipeline

    async def execute_command(*args: Any, **options: Any) -> Any:
        # On a cluster, redis-py sends SCRIPT LOAD to every primary.
        everywhere = isinstance(client, RedisCluster) and str(args[0]).upper() == "SCRIPT LOAD"
        count_reads(len(client.get_primaries()) if everywhere else 1)  # type: ignore[union-attr]
        return await send(*args, **options)

    def pipeline(*args: Any, **options: Any) -> Any:
        pipe: Any = make_pipeline(*args, **options)
        run = pipe.execute
        # Where CountedScripts were queued: their replies are unwrapped after the run.
        pipe.counted_scripts = []
        if hasattr(pipe, "immediate_execute_command"):
            # A single server's pipeline sends some commands at once, outside the batch: the
            # SCRIPT EXISTS (and SCRIPT LOADs) before a batch carrying scripts, WATCHed reads.
            immediate = pipe.immediate_execute_command

            async def immediate_execute_command(*command: Any, **command_options: Any) -> Any:
                count_reads(1)
                return await immediate(*command, **command_options)

            pipe.immediate_execute_command = immediate_execute_command

        async def execute(raise_on_error: bool = True) -> Any:
            transaction = bool(
                getattr(pipe, "is_transaction", getattr(pipe, "_transaction", False))
            )
            count_reads(len(pipe) + (2 if transaction and len(pipe) else 0))
            scripts, pipe.counted_scripts = pipe.counted_scripts, []
            try:
                replies = list(await run(raise_on_error))
            except NoScriptError:
                for _, script in scripts:  # flushed, or a node restarted: loaded at next call
                    script.on_cluster = False
                raise
            for at, _ in scripts:
                if not isinstance(replies[at], Exception):  # a script an error stopped says nothing
                    replies[at] = unwrapped(replies[at])
            if raise_on_error:
                for at, _ in scripts:
                    if isinstance(replies[at], Exception):
                        raise replies[at]
            return replies

        pipe.execute = execute
        return pipe

    counted.execute_command = execute_command  # type: ignore[method-assign]
    counted.pipeline = pipeline  # type: ignore[method-assign]
    return counted
