"""Per-client sliding one-minute windows: the cron endpoint's call limit and the lock-out after
wrong secrets (passwords, bearer tokens, drain tokens).

Kept in the process's memory, keyed by the client's address as the server sees it (behind a
proxy that is the proxy: run uvicorn with --proxy-headers and --forwarded-allow-ips to see the
real clients).
"""

from __future__ import annotations

import time
from collections import deque

from starlette.requests import Request

WINDOW_S = 60
# Past this many tracked clients, windows that have emptied are dropped.
MAX_TRACKED_CLIENTS = 10_000


class PerMinute:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.events: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> int:
        """0 when the client is under the limit, else the seconds until it is again."""
        window = self.events.get(client)
        if not window:
            return 0
        now = time.monotonic()
        while window and now - window[0] >= WINDOW_S:
            window.popleft()
        if len(window) < self.limit:
            return 0
        return int(WINDOW_S - (now - window[0])) + 1

    def add(self, client: str) -> None:
        if client not in self.events and len(self.events) >= MAX_TRACKED_CLIENTS:
            now = time.monotonic()
            self.events = {c: w for c, w in self.events.items() if w and now - w[-1] < WINDOW_S}
        self.events.setdefault(client, deque()).append(time.monotonic())

    def take(self, client: str) -> int:
        """Count one call unless the client is over the limit; returns retry_after()."""
        wait = self.retry_after(client)
        if not wait:
            self.add(client)
        return wait


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"
