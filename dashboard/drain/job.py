"""The job a drain hands to a handler: what BullMQ's script returned, decoded only when read.

`bullmq.Job.fromJSON` decodes every field of every job (data, progress, stacktrace, parent, ...)
and runs the Job constructor's option checks: about a third of the drain's own time per no-op
job. Most handlers read `data` and little else, and finishing a job needs only its id, options
and attempts. So the drain builds this thin object instead; anything else a handler touches
(`log`, `updateProgress`, `moveToFailed`, `returnvalue`, ...) is the real `bullmq.Job`, built
once, on first use, from the same hash and sharing the same token.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from bullmq import Job, Worker
from bullmq.job import optsFromJSON


class DrainJob:
    def __init__(self, worker: Worker, raw: dict[str, Any], job_id: str, token: str) -> None:
        self.queue = worker
        self.raw = raw
        self.id = job_id
        self.token = token
        self.name = raw.get("name")
        self.attemptsMade = int(raw.get("attemptsMade") or raw.get("atm") or 0)

    @cached_property
    def data(self) -> Any:
        return json.loads(self.raw.get("data", "{}"))

    @cached_property
    def opts(self) -> dict[str, Any]:
        """Decoded as Job.fromJSON decodes them (BullMQ's short option names expanded)."""
        opts: dict[str, Any] = optsFromJSON(json.loads(self.raw.get("opts", "{}")))
        return opts

    @property
    def attempts(self) -> int:
        return int(self.opts.get("attempts", 1))

    @property
    def kind(self) -> tuple[str, str | None, int] | None:
        """What the arguments of the script that completes this job depend on, besides its id
        and return value (dashboard/drain/finish.py): its slot's token, its stored options and
        the attempts made. None once the handler has read its options or the real Job: it may
        have changed them, and then bullmq reads them afresh."""
        if "opts" in self.__dict__ or "job" in self.__dict__:
            return None
        return (self.token, self.raw.get("opts"), self.attemptsMade)

    @cached_property
    def job(self) -> Job:
        """The real bullmq Job, for everything this object does not answer itself."""
        job = Job.fromJSON(self.queue, self.raw, self.id)
        job.token = self.token
        if "data" in self.__dict__:  # a handler may have changed the decoded data in place
            job.data = self.data
        return job

    def __getattr__(self, name: str) -> Any:
        # Only called for what the instance does not have: delegate to the real Job.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.job, name)


def slot_token(worker: Worker, slot: int) -> str:
    """The lock token of a drain's slot: the jobs it holds are locked with it."""
    return f"{worker.id}:{slot}"


def thin_job(worker: Worker, taken: list[Any] | None, token: str) -> DrainJob | None:
    """The handed-over job as a thin DrainJob, with no coroutine to run for it; None when no
    job was handed over, and for one that needs the bullmq Worker (the engine's `_next_job`)."""
    data = taken[0] if taken else None
    if not data or data.get("rjk"):
        return None
    assert taken is not None
    worker.limitUntil = max(taken[2] or 0, 0)
    return DrainJob(worker, data, str(taken[1]), token)
