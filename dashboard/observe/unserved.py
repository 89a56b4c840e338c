"""Queues whose waiting jobs nothing will take: no worker connected and no scheduled drain.

The workers views ask on every visit (they read CLIENT LIST anyway). The overview asks only when
a queue on screen has waiting jobs, and then keeps the answer for a minute (3 commands: one
CLIENT LIST, the drain history's 2); its live refreshes never ask, they reuse the last answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from dashboard.bullmq.reader import QueueSummary
from dashboard.drain.engine import DrainEngine
from dashboard.observe import clients
from dashboard.redis_client.connection import Client

# A cron drain this recent counts as a schedule.
SCHEDULE_WINDOW_MS = 3_600_000
# How long the overview trusts one answer.
ANSWER_TTL_S = 60.0


def takeable(summary: QueueSummary) -> int:
    """Jobs a worker or a drain would take next (a paused queue's are held on purpose)."""
    return 0 if summary.is_paused else summary.counts["waiting"] + summary.counts["prioritized"]


def nothing_takes(summary: QueueSummary, found: list[clients.Client], scheduled: bool) -> bool:
    """Jobs wait that no connected worker and no scheduled drain will take."""
    return bool(takeable(summary)) and not scheduled and not clients.has_worker(found, summary.name)


async def cron_drained_recently(engine: DrainEngine) -> bool:
    runs, last_idle = await engine.history()
    cutoff = time.time() * 1000 - SCHEDULE_WINDOW_MS
    recent = [*runs, *([last_idle] if last_idle else [])]
    return any(run.get("trigger") == "cron" and run.get("at", 0) >= cutoff for run in recent)


class ServiceCheck:
    """The overview's question, answered from Redis at most once per ANSWER_TTL_S."""

    def __init__(
        self,
        redis: Client,
        prefix: str,
        engine: DrainEngine,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.engine = engine
        self.clock = clock
        self._answer: tuple[float, list[clients.Client], bool] | None = None

    async def unserved(
        self, summaries: list[QueueSummary], queues: list[str], ask: bool = True
    ) -> set[str]:
        """The queues among `summaries` with waiting jobs that nothing will take; `queues` is
        every queue known, so that one CLIENT LIST answers for all of them. Without `ask` (a
        page's live refresh, which costs nothing otherwise), only the last answer is used."""
        candidates = [s.name for s in summaries if takeable(s)]
        if not candidates or (self._answer is None and not ask):
            return set()
        now = self.clock()
        if ask and (self._answer is None or now - self._answer[0] >= ANSWER_TTL_S):
            found = await clients.read_clients(self.redis, self.prefix, queues)
            if isinstance(found, str):  # CLIENT LIST refused: nothing can be said
                found, scheduled = [], True
            else:
                scheduled = await cron_drained_recently(self.engine)
            self._answer = (now, found, scheduled)
        if self._answer is None:
            return set()
        _, found, scheduled = self._answer
        return {s.name for s in summaries if nothing_takes(s, found, scheduled)}
