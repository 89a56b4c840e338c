"""Alert delivery to webhooks (generic JSON or Slack-compatible `{"text": ...}`) and to email
over SMTP (the standard library's smtplib, in a thread: a send is rare and short).

Each send has a timeout, a few retries with backoff (on a lost connection, a 429 or a 5xx), and
each destination a rate limit, so that a flapping rule cannot flood a channel. A webhook URL
carries its secret in the path or the query, an SMTP URL its password: only the scheme and host
are ever logged or shown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from dashboard.config import ConfigError

log = logging.getLogger("drainboard.alerts")

FORMATS = ("slack", "json")
EMAIL = "email"
SMTP_SCHEMES = ("smtp", "smtps")
DEFAULT_SENDER = "drainboard@localhost"
TIMEOUT_S = 5.0
ATTEMPTS = 3
BACKOFF_S = 0.5  # then 1 s: a send gives up within ~3 timeouts and 1.5 s of waiting
PER_MINUTE = 20  # sends a destination takes a minute; more are dropped and recorded so


@dataclass(frozen=True)
class Destination:
    name: str
    url: str
    format: str = "slack"  # or "json"; "email" for an smtp:// or smtps:// URL
    to: tuple[str, ...] = ()
    sender: str = DEFAULT_SENDER
    starttls: bool = False

    @property
    def shown(self) -> str:
        """What may be logged or shown of the URL: scheme and host, never the path's secret."""
        return safe_url(self.url)


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def destination(path: str, name: str, table: Any) -> Destination:
    """One `[destination.NAME]` table, or a ConfigError of one sentence."""
    where = f"{path}: destination {name!r}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table with url and format.")
    url = table.get("url")
    if isinstance(url, str) and urlsplit(url).scheme in SMTP_SCHEMES:
        return _mailbox(where, name, url, table)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{where} needs a url starting with http:// or https:// (or smtp:// or smtps:// "
            "for email)."
        )
    fmt = table.get("format", "slack")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format must be slack or json, not {fmt!r}.")
    extra = set(table) - {"url", "format"}
    if extra:
        raise ConfigError(f"{where}: unknown setting {sorted(extra)[0]!r}.")
    return Destination(name, url, fmt)


def _mailbox(where: str, name: str, url: str, table: dict[str, Any]) -> Destination:
    to = table.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise ConfigError(f"{where}: an email destination needs to, e.g. to = ['ops@example.com'].")
    sender = table.get("from", DEFAULT_SENDER)
    if not isinstance(sender, str) or "@" not in sender:
        raise ConfigError(f"{where}: from must be an email address, not {sender!r}.")
    starttls = table.get("starttls", False)
    if not isinstance(starttls, bool):
        raise ConfigError(f"{where}: starttls must be true or false.")
    if table.get("format", EMAIL) != EMAIL:
        raise ConfigError(f"{where}: an smtp:// url sends email; drop format.")
    extra = set(table) - {"url", "format", "to", "from", "starttls"}
    if extra:
        raise ConfigError(f"{where}: unknown setting {sorted(extra)[0]!r}.")
    if not urlsplit(url).hostname:
        raise ConfigError(f"{where}: the url names no host, e.g. smtp://mail.example:587.")
    return Destination(name, url, EMAIL, tuple(to), sender, starttls)


def email(destination: Destination, message: dict[str, Any]) -> EmailMessage:
    """The text as the subject (a mail client's list shows it), the whole message as JSON in
    the body for filters and scripts."""
    mail = EmailMessage()
    mail["Subject"] = message["text"][:200]
    mail["From"] = destination.sender
    mail["To"] = ", ".join(destination.to)
    mail.set_content(f"{message['text']}\n\n{json.dumps(message, indent=2)}\n")
    return mail


def send_mail(destination: Destination, message: dict[str, Any]) -> None:
    """One SMTP session (blocking: run in a thread). smtps:// is TLS from the start; smtp://
    upgrades with STARTTLS when the destination says starttls = true."""
    parts = urlsplit(destination.url)
    implicit = parts.scheme == "smtps"
    smtp_class = smtplib.SMTP_SSL if implicit else smtplib.SMTP
    port = parts.port or (465 if implicit else 25)
    with smtp_class(parts.hostname or "", port, timeout=TIMEOUT_S) as smtp:
        if destination.starttls:
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(email(destination, message))


def _mail_error(err: Exception) -> tuple[str, bool]:
    """The result to record (never the URL, which holds the password) and whether another
    attempt may succeed: a lost connection or a 4xx reply, not a 5xx."""
    if isinstance(err, smtplib.SMTPResponseException):
        return f"failed: {err.smtp_code}", 400 <= err.smtp_code < 500
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return "failed: recipients refused", False
    return f"failed: {type(err).__name__}", True


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
        if destination.format == EMAIL:
            result = await self._mail(destination, message)
        else:
            result = await self._post(destination, message)
        if result != "sent" and not result.startswith("2"):
            log.warning("alert to %s (%s): %s", destination.name, destination.shown, result)
        return result

    async def _mail(self, destination: Destination, message: dict[str, Any]) -> str:
        result = "failed"
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                await asyncio.to_thread(send_mail, destination, message)
            except (smtplib.SMTPException, OSError) as err:
                result, again = _mail_error(err)
                if again:
                    continue
                break
            return "sent"
        return result

    async def _post(self, destination: Destination, message: dict[str, Any]) -> str:
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
        return result
