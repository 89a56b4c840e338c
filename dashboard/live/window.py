"""A sliding one-minute tally: how many commands (or changes) happened in the last 60 seconds."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0


class MinuteWindow:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._events: deque[tuple[float, int]] = deque()

    def add(self, amount: int = 1) -> None:
        self._events.append((self._clock(), amount))

    def total(self) -> int:
        cutoff = self._clock() - WINDOW_S
        while self._events and self._events[0][0] < cutoff:
            self._events.popleft()
        return sum(amount for _, amount in self._events)
