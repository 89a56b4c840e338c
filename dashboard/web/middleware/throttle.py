"""Per-client sliding one-minute windows: the cron endpoint's call limit and the lock-out after
wrong secrets (passwords, bearer tokens, drain tokens).

Kept in the process's memory, keyed by the client's address as the server sees it (behind a
proxy that is the proxy: run uvicorn with --proxy-headers and --forwarded-allow-ips to see the
real clients).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from starlette.requests import Request

from dashboard.live.window import WINDOW_S, MinuteWindow

# Past this many tracked clients, windows that have emptied are dropped.
MAX_TRACKED_CLIENTS = 10_000


class PerMinute:
    def __init__(self, limit: int, clock: Callable[[], float] | None = None) -> None:
        self.limit = limit
        self.clock = clock
        self.events: dict[str, MinuteWindow[None]] = {}

    def retry_after(self, client: str) -> int:
        """0 when the client is under the limit, else the seconds until it is again."""
        window = self.events.get(client)
        if window is None or len(window.recent()) < self.limit:
            return 0
        return math.floor(WINDOW_S - (window.seconds_since_oldest() or 0.0)) + 1

    def add(self, client: str) -> None:
        if client not in self.events and len(self.events) >= MAX_TRACKED_CLIENTS:
            self.events = {c: w for c, w in self.events.items() if w.recent()}
        window = self.events.get(client)
        if window is None:
            window = self.events[client] = (
                MinuteWindow(self.clock) if self.clock else MinuteWindow()
            )
        window.add(None)

    def take(self, client: str) -> int:
        """Count one call unless the client is over the limit; returns retry_after()."""
        wait = self.retry_after(client)
        if not wait:
            self.add(client)
        return wait


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"
