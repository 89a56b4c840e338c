"""Alert delivery to webhooks: generic JSON or Slack-compatible `{"text": ...}`.

Each send has a timeout, a few retries with backoff (on a lost connection, a 429 or a 5xx), and
each destination a rate limit, so that a flapping rule cannot flood a channel. A webhook URL
carries its secret in the path or the query: only its scheme and host are ever logged or shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("drainboard.alerts")

FORMATS = ("slack", "json")
TIMEOUT_S = 5.0
ATTEMPTS = 3
BACKOFF_S = 0.5  # then 1 s: a send gives up within ~3 timeouts and 1.5 s of waiting
PER_MINUTE = 20  # sends a destination takes a minute; more are dropped and recorded so


@dataclass(frozen=True)
class Destination:
    name: str
    url: str
    format: str = "slack"

    @property
    def shown(self) -> str:
        """What may be logged or shown of the URL: scheme and host, never the path's secret."""
        return safe_url(self.url)


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def body(destination: Destination, message: dict[str, Any]) -> dict[str, Any]:
    """Slack, Mattermost, Discord's Slack endpoint and Teams workflows read `text`."""
    if destination.format == "slack":
        return {"text": message["text"]}
    return message


class Delivery:
    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        per_minute: int = PER_MINUTE,
        backoff_s: float = BACKOFF_S,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self.per_minute = per_minute
        self.backoff_s = backoff_s
        self._sent: dict[str, deque[float]] = {}

    def _allowed(self, name: str) -> bool:
        now = self._clock()
        sent = self._sent.setdefault(name, deque())
        while sent and now - sent[0] >= 60:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return False
        sent.append(now)
        return True

    async def send(self, destination: Destination, message: dict[str, Any]) -> str:
        """The result, for the page and the log: "200", "rate limited", "failed: ..."; never
        the URL, whose path may hold the webhook's secret."""
        if not self._allowed(destination.name):
            return "rate limited"
        result = "failed"
        async with httpx.AsyncClient(transport=self._transport, timeout=TIMEOUT_S) as client:
            for attempt in range(ATTEMPTS):
                if attempt:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                try:
                    reply = await client.post(destination.url, json=body(destination, message))
                except httpx.HTTPError as err:
                    # The exception's text may quote the URL: only its type is kept.
                    result = f"failed: {type(err).__name__}"
                    continue
                result = str(reply.status_code)
                if reply.status_code != 429 and reply.status_code < 500:
                    break
        if not result.startswith("2"):
            log.warning("alert to %s (%s): %s", destination.name, destination.shown, result)
        return result
