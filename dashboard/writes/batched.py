"""Many jobs' BullMQ script calls in one round trip (one per node of a cluster, all at once): a
selection's retry, promote or remove.

The calls are made by the `bullmq` package's own Scripts methods (reprocessJob, promote, remove),
which build each script's keys and arguments; here those are recorded instead of sent, then all
go out on one pipeline. redis-py's Script objects would first send SCRIPT EXISTS on every such
pipeline (a round trip and a command per request); here each call is a bare EVALSHA of the
script wrapped to count the commands it runs (redis_client/lua.py). Only the calls Redis
answers NOSCRIPT (the first since Redis started, or after SCRIPT FLUSH) are sent again, once
their scripts are loaded: a NOSCRIPT call did not run, so no job is moved twice.

On a Redis Cluster, redis-py's pipeline sends each node the calls for its slots, the nodes at
once. A queue's keys share one slot only when the prefix or the queue name holds a hash tag
(`{bull}`); without one, BullMQ's scripts cannot run on a cluster at all (CROSSSLOT), and
queue discovery refuses such a prefix before any action is offered.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import NoScriptError

from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import count_reads
from dashboard.redis_client.lua import CountedScript


@dataclass(frozen=True)
class Call:
    """One script call, as a `bullmq` Scripts method would have sent it."""

    script: CountedScript
    keys: tuple[Any, ...]
    args: tuple[Any, ...]


class _Recorder:
    """Stands in for a Scripts object's `commands`: a call is kept, not sent. Its answer is
    None, which the package's methods take for "done" and return."""

    def __init__(self, commands: dict[str, Any]) -> None:
        self.commands = commands
        self.calls: list[Call] = []

    def __getitem__(self, name: str) -> Callable[..., Awaitable[None]]:
        script = self.commands[name]

        async def record(keys: Any = None, args: Any = None, client: Any = None) -> None:
            self.calls.append(Call(script, tuple(keys or ()), tuple(args or ())))

        return record


async def record(scripts: Any, step: Callable[[Any], Awaitable[Any]]) -> Call:
    """The one script call `step` makes through a copy of `scripts` (the package's Scripts)."""
    recording = copy.copy(scripts)
    recorder = _Recorder(scripts.commands)
    recording.commands = recorder
    await step(recording)
    [call] = recorder.calls
    return call


async def send(client: Client, calls: list[Call]) -> list[Any]:
    """Each call's answer (or the error Redis answered it with), in order: one pipeline, and a
    second only for calls whose scripts Redis did not have."""
    answers: list[Any] = [None] * len(calls)
    pending = list(range(len(calls)))
    for attempt in (1, 2):
        pipe = client.pipeline(transaction=False)
        for at in pending:
            call = calls[at]
            pipe.evalsha(call.script.wrapped.sha, len(call.keys), *call.keys, *call.args)
        replies = await pipe.execute(raise_on_error=False)
        missing = []
        for at, reply in zip(pending, replies, strict=True):
            if isinstance(reply, NoScriptError) and attempt == 1:
                missing.append(at)
            elif isinstance(reply, Exception):
                answers[at] = reply
            else:
                count_reads(int(reply[0]))  # the commands the script ran
                # A script answering nil leaves a one-item table: Lua tables end at their nil.
                answers[at] = reply[1] if len(reply) > 1 else None
        if not missing:
            break
        for script in {calls[at].script.wrapped for at in missing}:
            await client.script_load(script.script)
        pending = missing
    return answers
