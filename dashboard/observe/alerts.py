"""Alert rules from a TOML file, evaluated from what Drainboard already reads.

In `drainboard serve` the rules ride on the change watcher (dashboard/live/watcher.py): its counts
and its running totals of failed and stalled events are kept in memory, so a check reads nothing
from Redis. While rules exist the watcher keeps running with no page open: one blocking XREAD a
minute on idle queues, plus its counts re-read when events arrive (what one open overview
costs). `drainboard drain` evaluates the `failed` rules from the failures its tick counted.

State lives in one Redis hash (bullmq/keys.alert_state_key): a field per firing rule and queue.
A process changes it only by a compare-and-set script, and sends only when its change won: two
dashboards on one Redis send one alert. Commands are spent per state change (one script, one
XADD to the sends stream), never per check.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import logging
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dashboard.bullmq.keys import alert_sends_key, alert_state_key
from dashboard.bullmq.reader import QueueSummary
from dashboard.config import ConfigError
from dashboard.drain.engine import DrainResult
from dashboard.live.watcher import ChangeWatcher
from dashboard.observe.alert_delivery import FORMATS, Delivery, Destination
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute, spend

log = logging.getLogger("drainboard.alerts")

KINDS = ("failed", "backlog", "paused", "stalled")
# Kinds the issue names that are not built yet: refused with a sentence, not ignored.
LATER = ("unserved", "redis", "quota")
NUMBERS = ("count", "minutes", "age_seconds", "percent", "repeat")
DEFAULT_MINUTES = 10
DEFAULT_REPEAT = 60
CHECK_S = 5.0  # time-based conditions (a window passing, a pause lasting) are re-checked so often
SENDS_KEPT = 100

# Set the field only if it still holds what this process last saw: the winner sends.
COMPARE_AND_SET = """
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return {0, current} end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return {1, ARGV[3]}
"""


@dataclass(frozen=True)
class Rule:
    kind: str
    queues: str = "*"
    count: int = 0
    minutes: float = DEFAULT_MINUTES
    age_seconds: float | None = None
    percent: float | None = None
    repeat: float = DEFAULT_REPEAT
    send: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.queues}:{self.count}:{self.minutes:g}"

    def matches(self, queue: str) -> bool:
        return fnmatch.fnmatchcase(queue, self.queues)

    def describe(self) -> str:
        if self.kind == "failed":
            return f"more than {self.count} failed within {self.minutes:g} minutes"
        if self.kind == "stalled":
            return f"more than {self.count} stalled within {self.minutes:g} minutes"
        if self.kind == "backlog":
            return f"more than {self.count} waiting"
        return f"paused longer than {self.minutes:g} minutes"


@dataclass(frozen=True)
class AlertConfig:
    destinations: dict[str, Destination] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()


def load(path: str) -> AlertConfig:
    """The file's rules and destinations, or a ConfigError of one sentence."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as err:
        raise ConfigError(f"The alerts file {path!r} cannot be read: {err.strerror}.") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"The alerts file {path!r} is not valid TOML: {err}.") from None
    return parse(data, path)


def parse(data: dict[str, Any], path: str = "alerts") -> AlertConfig:
    unknown = set(data) - {"destination", "rule"}
    if unknown:
        raise ConfigError(f"{path}: unknown table {sorted(unknown)[0]!r}; use destination, rule.")
    destinations: dict[str, Destination] = {}
    tables = data.get("destination", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: destinations are tables, [destination.NAME].")
    for name, table in tables.items():
        destinations[name] = _destination(path, name, table)
    rules = data.get("rule", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{path}: rules are an array of tables, [[rule]].")
    return AlertConfig(
        destinations, tuple(_rule(path, n, t, destinations) for n, t in enumerate(rules, 1))
    )


def _destination(path: str, name: str, table: Any) -> Destination:
    where = f"{path}: destination {name!r}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table with url and format.")
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where} needs a url starting with http:// or https://.")
    fmt = table.get("format", "slack")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format must be slack or json, not {fmt!r}.")
    extra = set(table) - {"url", "format"}
    if extra:
        raise ConfigError(f"{where}: unknown setting {sorted(extra)[0]!r}.")
    return Destination(name, url, fmt)


def _rule(path: str, number: int, table: Any, destinations: dict[str, Destination]) -> Rule:
    where = f"{path}: rule {number}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table.")
    kind = table.get("kind")
    if kind in LATER:
        raise ConfigError(f"{where}: kind {kind!r} is not built yet; use {', '.join(KINDS)}.")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    extra = set(table) - {"kind", "queues", "send", *NUMBERS}
    if extra:
        raise ConfigError(f"{where}: unknown setting {sorted(extra)[0]!r}.")
    queues = table.get("queues", "*")
    if not isinstance(queues, str) or not queues:
        raise ConfigError(f"{where}: queues must be a queue name or a pattern such as 'billing-*'.")
    numbers: dict[str, Any] = {}
    for name in NUMBERS:
        value = table.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: {name} must be a number of 0 or more, not {value!r}.")
        numbers[name] = value
    if kind == "backlog" and "count" not in numbers:
        raise ConfigError(f"{where}: a backlog rule needs count, the jobs waiting it allows.")
    if "count" in numbers and not isinstance(numbers["count"], int):
        raise ConfigError(f"{where}: count must be a whole number.")
    if "age_seconds" in numbers or "percent" in numbers:
        # age_seconds (latency) and percent (redis) belong to kinds not built yet.
        name = "age_seconds" if "age_seconds" in numbers else "percent"
        raise ConfigError(f"{where}: {name} is not used by {kind} rules yet.")
    send = table.get("send", list(destinations))
    if isinstance(send, str):
        send = [send]
    if not isinstance(send, list) or not send:
        raise ConfigError(f"{where}: send names the destinations to alert, e.g. send = ['ops'].")
    for name in send:
        if name not in destinations:
            raise ConfigError(f"{where} sends to {name!r}, which no [destination.{name}] defines.")
    return Rule(kind=kind, queues=queues, send=tuple(send), **numbers)


class Tally:
    """When the last events of one kind happened on one queue: enough of them to tell whether
    more than `keep - 1` fell within a window (memory bounded by the rules' counts)."""

    def __init__(self, keep: int) -> None:
        self.times: deque[float] = deque(maxlen=keep)
        self.total = 0

    def seen(self, total: int, now: float) -> None:
        new, self.total = max(total - self.total, 0), total
        self.times.extend([now] * min(new, self.times.maxlen or 0))

    def within(self, seconds: float, now: float) -> int:
        return sum(1 for at in self.times if now - at <= seconds)


class Alerts:
    def __init__(
        self,
        redis: Client,
        prefix: str,
        config: AlertConfig,
        delivery: Delivery | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.config = config
        self.delivery = delivery or Delivery()
        self.clock = clock
        self._cas = redis.register_script(COMPARE_AND_SET)
        # field -> stored JSON, as this process last saw it; None until read once.
        self.state: dict[str, str] | None = None
        self._tallies: dict[tuple[str, str], Tally] = {}
        self._paused_since: dict[str, float] = {}
        self.checks = 0
        self.check_s = CHECK_S

    @property
    def active(self) -> bool:
        return bool(self.config.rules)

    def _keep(self, kind: str) -> int:
        return 1 + max((r.count for r in self.config.rules if r.kind == kind), default=0)

    def _tally(self, queue: str, kind: str) -> Tally:
        key = (queue, kind)
        if key not in self._tallies:
            self._tallies[key] = Tally(self._keep(kind))
        return self._tallies[key]

    # What holds, from numbers already in memory.

    def observe(self, summary: QueueSummary, totals: dict[str, int], now: float) -> None:
        """One queue's counts and running totals of events (failed, stalled) as last seen."""
        for kind, total in totals.items():
            self._tally(summary.name, kind).seen(total, now)
        if summary.is_paused:
            self._paused_since.setdefault(summary.name, now)
        else:
            self._paused_since.pop(summary.name, None)

    def holding(self, summaries: Iterable[QueueSummary], now: float) -> dict[str, str]:
        """Per state field (rule and queue) that holds now, the sentence saying why."""
        found: dict[str, str] = {}
        for summary in summaries:
            queue = summary.name
            for rule in self.config.rules:
                if not rule.matches(queue):
                    continue
                text = self._check(rule, summary, now)
                if text:
                    found[f"{rule.id}|{queue}"] = f"{queue}: {text} ({rule.describe()})"
        return found

    def _check(self, rule: Rule, summary: QueueSummary, now: float) -> str | None:
        if rule.kind in ("failed", "stalled"):
            seen = self._tally(summary.name, rule.kind).within(rule.minutes * 60, now)
            return f"{seen} jobs {rule.kind}" if seen > rule.count else None
        if rule.kind == "backlog":
            waiting = summary.counts.get("waiting", 0) + summary.counts.get("prioritized", 0)
            return f"{waiting} jobs waiting" if waiting > rule.count else None
        since = self._paused_since.get(summary.name)
        if since is not None and now - since >= rule.minutes * 60:
            return f"paused for {(now - since) / 60:.0f} minutes"
        return None

    # State changes: a compare-and-set each, and a send by the process that won it.

    async def settle(
        self,
        holding: dict[str, str],
        queues: Iterable[str],
        now: float,
        kinds: set[str] | None = None,
    ) -> int:
        """Fire, repeat and resolve against the stored state; `queues` and `kinds` are those
        evaluated (another queue's or kind's field is left alone). Returns the messages sent."""
        self.checks += 1
        if self.state is None:
            spend("alerts", 1)
            self.state = dict(await self.redis.hgetall(alert_state_key(self.prefix)))  # type: ignore[arg-type]
        state = self.state
        evaluated = set(queues)
        rules = {rule.id: rule for rule in self.config.rules}
        sent = 0
        for key, text in holding.items():
            rule = rules[key.split("|", 1)[0]]
            old = state.get(key)
            if old is None:
                new = {"since": now, "sent": now, "text": text}
                sent += await self._change(key, rule, "", new, "firing", text)
                continue
            stored = json.loads(old)
            if rule.repeat and now - stored["sent"] >= rule.repeat * 60:
                new = {**stored, "sent": now, "text": text}
                sent += await self._change(key, rule, old, new, "still firing", text)
        for key, old in list(state.items()):
            rule_id, _, queue = key.partition("|")
            if key in holding or queue not in evaluated:
                continue
            gone = rules.get(rule_id)  # None: a rule removed from the file since it fired
            if kinds is not None and rule_id.split(":", 1)[0] not in kinds:
                continue
            stored = json.loads(old)
            since = time.strftime("%H:%M UTC", time.gmtime(stored["since"]))
            text = f"{queue}: resolved, no longer {gone.describe() if gone else rule_id}"
            text += f" (firing since {since})"
            sent += await self._change(key, gone, old, None, "resolved", text)
        return sent

    async def _change(
        self,
        key: str,
        rule: Rule | None,
        old: str,
        new: dict[str, Any] | None,
        event: str,
        text: str,
    ) -> int:
        assert self.state is not None
        value = json.dumps(new, separators=(",", ":")) if new is not None else ""
        spend("alerts", 1)
        won, current = await self._cas(keys=[alert_state_key(self.prefix)], args=[key, old, value])
        current = current.decode() if isinstance(current, bytes) else current
        if current:
            self.state[key] = current
        else:
            self.state.pop(key, None)
        if not won:
            return 0  # another process changed it first, and sent
        names = rule.send if rule else tuple(self.config.destinations)
        queue = key.partition("|")[2]
        await self.deliver(
            names,
            {
                "event": event,
                "rule": rule.id if rule else key,
                "queue": queue,
                "text": f"[{event}] {text}",
                "at": int(self.clock()),
            },
        )
        return 1

    async def deliver(self, names: Iterable[str], message: dict[str, Any]) -> list[str]:
        """Send to each destination; record each result in the capped sends stream."""
        destinations = [self.config.destinations[n] for n in names]
        results = await asyncio.gather(*(self.delivery.send(d, message) for d in destinations))
        pipe = self.redis.pipeline(transaction=False)
        for destination, result in zip(destinations, results, strict=True):
            entry = {**message, "destination": destination.name, "result": result}
            pipe.xadd(
                alert_sends_key(self.prefix),
                {"entry": json.dumps(entry, separators=(",", ":"))},
                maxlen=SENDS_KEPT,
                approximate=False,
            )
        spend("alerts", len(pipe))
        await pipe.execute()
        return list(results)

    async def test(self) -> list[str]:
        message = {
            "event": "test",
            "rule": "test",
            "queue": "",
            "at": int(self.clock()),
            "text": "[test] Drainboard alerts reach this destination.",
        }
        return await self.deliver(self.config.destinations, message)

    async def read(self) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        """What fires now and the last sends, newest first: one HGETALL and one XREVRANGE,
        counted in the page's footer."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(alert_state_key(self.prefix))
        pipe.xrevrange(alert_sends_key(self.prefix), count=SENDS_KEPT)
        state, entries = await execute(pipe)
        firing = {}
        for key, value in state.items():
            with contextlib.suppress(TypeError, ValueError):
                firing[key] = json.loads(value)
        sends = []
        for _, fields in entries or []:
            with contextlib.suppress(TypeError, ValueError, KeyError):
                sends.append(json.loads(fields["entry"]))
        return firing, sends

    # Where rules run.

    async def after_drain(self, result: DrainResult) -> int:
        """A drain tick: its failures per queue are the `failed` rules' window (a tick cannot
        tell how long a pause lasted nor what waits: the other kinds need serve's watcher)."""
        failed = {queue: run.jobs_failed for queue, run in result.queues.items()}
        now = self.clock()
        holding: dict[str, str] = {}
        for queue, count in failed.items():
            for rule in self.config.rules:
                if rule.kind == "failed" and rule.matches(queue) and count > rule.count:
                    text = f"{queue}: {count} jobs failed in a drain ({rule.describe()})"
                    holding[f"{rule.id}|{queue}"] = text
        return await self.settle(holding, failed, now, kinds={"failed"})

    async def watch(self, watcher: ChangeWatcher) -> None:
        """Serve's loop: a subscription to every queue keeps the watcher running; each notice
        (and every CHECK_S, for windows passing) is checked from the watcher's memory."""
        async with watcher.subscribe() as subscription:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(subscription.changed.wait(), self.check_s)
                subscription.take()
                try:
                    await self.check(watcher)
                except Exception:  # a Redis hiccup must not end the alerts; the next check retries
                    log.exception("alert check failed")

    async def check(self, watcher: ChangeWatcher) -> int:
        now = self.clock()
        summaries = []
        for queue in await watcher.catalog.names():
            summary = watcher.counts(queue)
            if summary is None:
                continue  # not read yet: nothing can be said
            totals = {kind: watcher.arrivals(queue, kind) for kind in ("failed", "stalled")}
            self.observe(summary, totals, now)
            summaries.append(summary)
        holding = self.holding(summaries, now)
        return await self.settle(holding, [s.name for s in summaries], now)
