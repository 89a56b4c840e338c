"""A sliding one-minute window of events, each with a value: commands spent, the queues a change
touched, a client's calls. The one such window in the package: the footers' rates, the cost
panel, the cron endpoint's call limit and the wrong-secret lock-out all count with it."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

WINDOW_S = 60.0

T = TypeVar("T")


class MinuteWindow(Generic[T]):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._events: deque[tuple[float, T]] = deque()

    def add(self, value: T) -> None:
        self._events.append((self._clock(), value))

    def recent(self) -> list[T]:
        """The values of the last 60 seconds, oldest first."""
        self._forget()
        return [value for _, value in self._events]

    def seconds_since_oldest(self) -> float | None:
        """How long ago the oldest event of the window happened; None when it is empty."""
        self._forget()
        return self._clock() - self._events[0][0] if self._events else None

    def total(self: MinuteWindow[int]) -> int:
        """The sum of a window of counts."""
        return sum(self.recent())

    def _forget(self) -> None:
        cutoff = self._clock() - WINDOW_S
        while self._events and self._events[0][0] < cutoff:
            self._events.popleft()
