"""Alert rules from a TOML file, evaluated from what Drainboard already reads.

In `drainboard serve` the rules ride on the change watcher (dashboard/live/watcher.py): its counts
and its running totals of failed and stalled events are kept in memory, so a check reads nothing
from Redis. While rules exist the watcher keeps running with no page open: one blocking XREAD a
minute on idle queues, plus its counts re-read when events arrive (what one open overview
costs). A drain tick (`drainboard drain`, on-demand workers) judges every kind it can from what
it read (`after_drain`; the README says what each kind costs there).

A few kinds need one read beyond the watcher's memory, each bounded and never spent per check:
- `backlog` with `age_seconds` (latency): the oldest waiting job's time is read once (2-4
  commands, bullmq/latency.py) and its age then grows in memory; a queue is read again only
  after its events moved it and the remembered age passed the threshold (a job taken since can
  only make the oldest younger), and while firing at most every `age_seconds` (30 s at most).
- `unserved`: the watcher's `active` events say when a queue last had a job taken; only when
  jobs have waited `minutes` with none taken is the overview's check asked (CLIENT LIST and the
  drain history, 3 commands, kept a minute) whether a worker or a cron drain would take them.
- `quota`: one INFO commandstats per window (`minutes`, a minute at least): the commands the
  server executed between two readings, projected over the month, against --quota.
- `redis`: Redis unreachable, seen from the watcher (its counts dropped, its reconnects). Its
  state cannot live in the Redis that is down: it is kept by the process (each dashboard sends
  its own), and its sends are recorded in the stream once Redis is back. With `percent`, also
  memory over that share of maxmemory or an eviction policy other than noeviction: one INFO
  memory (per primary) a minute at most, its state in Redis like the other kinds'.

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
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError, ResponseError

from dashboard.bullmq.keys import QueueKeys, alert_sends_key, alert_state_key
from dashboard.bullmq.latency import latency_s, oldest_waiting
from dashboard.bullmq.reader import QueueSummary
from dashboard.config import ConfigError, read_toml
from dashboard.drain.engine import NO_PROCESSOR, DrainResult, QueueRun
from dashboard.drain.probe import Seen, event_ms
from dashboard.i18n import T_, Tp_
from dashboard.live.watcher import ChangeWatcher
from dashboard.observe import clients
from dashboard.observe.alert_delivery import Delivery, Destination, destination
from dashboard.observe.cost import DEFAULT_QUOTA, MINUTES_PER_MONTH
from dashboard.observe.measure import executed_so_far
from dashboard.observe.unserved import ServiceCheck, takeable
from dashboard.redis_client.connection import Client, on_primaries
from dashboard.redis_client.counting import execute, spend

log = logging.getLogger("drainboard.alerts")

KINDS = ("failed", "backlog", "paused", "stalled", "unserved", "redis", "quota")
# Kinds about the server, not a queue: their state field names no queue.
SERVER_KINDS = ("redis", "quota")
NUMBERS = ("count", "minutes", "age_seconds", "percent", "repeat")
DEFAULT_MINUTES = 10
REDIS_MINUTES = 1  # a `redis` rule's default: an outage is news well before 10 minutes
AGE_RECHECK_S = 30.0  # a firing latency rule re-reads its queue at most this often
QUOTA_MIN_S = 60.0  # the shortest window a quota rule measures: at most one INFO a minute
MEMORY_EVERY_S = 60.0  # a redis rule's memory and eviction policy: one INFO memory a minute
DEFAULT_REPEAT = 60
CHECK_S = 5.0  # time-based conditions (a window passing, a pause lasting) are re-checked so often
SENDS_KEPT = 100
# A drain tick: the queues it has no processor for are read (4 commands each) only for these.
UNSERVED_KINDS = ("backlog", "paused", "unserved")
UNJUDGED = "unjudged"  # a tick read too little to say whether the rule holds for the queue

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
    count: int | None = None
    minutes: float = DEFAULT_MINUTES
    age_seconds: float | None = None
    percent: float | None = None  # quota: 100 when not given; redis: no memory check
    repeat: float = DEFAULT_REPEAT
    send: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        rule_id = f"{self.kind}:{self.queues}:{self.count or 0}:{self.minutes:g}"
        if self.age_seconds is not None:
            rule_id += f":{self.age_seconds:g}s"
        if self.kind == "quota":
            rule_id += f":{self.share:g}%"
        elif self.percent is not None:  # a redis rule that watches memory too
            rule_id += f":{self.percent:g}%"
        return rule_id

    @property
    def share(self) -> float:
        """A quota rule's percent of the quota (100 unless given)."""
        return 100 if self.percent is None else self.percent

    @property
    def threshold(self) -> int:
        return self.count or 0

    def matches(self, queue: str) -> bool:
        return fnmatch.fnmatchcase(queue, self.queues)

    def describe(self) -> str:
        minutes = format(self.minutes, "g")
        if self.kind == "failed":
            return T_("more than %(n)s failed within %(m)s minutes", n=self.threshold, m=minutes)
        if self.kind == "stalled":
            return T_("more than %(n)s stalled within %(m)s minutes", n=self.threshold, m=minutes)
        if self.kind == "backlog":
            parts = [] if self.count is None else [T_("more than %(n)s waiting", n=self.count)]
            if self.age_seconds is not None:
                age = format(self.age_seconds, "g")
                parts.append(T_("oldest waiting longer than %(age)s s", age=age))
            return T_(" or ").join(parts)
        if self.kind == "unserved":
            return T_(
                "jobs waiting and none taken by a worker or drain for %(m)s minutes", m=minutes
            )
        if self.kind == "redis":
            text = T_("Redis unreachable for %(m)s minutes", m=minutes)
            if self.percent is not None:
                text += T_(
                    ", memory over %(percent)s%% of maxmemory or an eviction policy other than "
                    "noeviction",
                    percent=format(self.percent, "g"),
                )
            return text
        if self.kind == "quota":
            return T_(
                "the month's projected commands over %(percent)s%% of the quota",
                percent=format(self.share, "g"),
            )
        return T_("paused longer than %(m)s minutes", m=minutes)


@dataclass(frozen=True)
class AlertConfig:
    destinations: dict[str, Destination] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()


def load(path: str) -> AlertConfig:
    """The file's rules and destinations, or a ConfigError of one sentence."""
    return parse(read_toml(path, "alerts"), path)


def parse(data: dict[str, Any], path: str = "alerts") -> AlertConfig:
    unknown = set(data) - {"destination", "rule"}
    if unknown:
        raise ConfigError(f"{path}: unknown table {sorted(unknown)[0]!r}; use destination, rule.")
    destinations: dict[str, Destination] = {}
    tables = data.get("destination", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: destinations are tables, [destination.NAME].")
    for name, table in tables.items():
        destinations[name] = destination(path, name, table)
    rules = data.get("rule", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{path}: rules are an array of tables, [[rule]].")
    return AlertConfig(
        destinations, tuple(_rule(path, n, t, destinations) for n, t in enumerate(rules, 1))
    )


def _rule(path: str, number: int, table: Any, destinations: dict[str, Destination]) -> Rule:
    where = f"{path}: rule {number}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table.")
    kind = table.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    extra = set(table) - {"kind", "queues", "send", *NUMBERS}
    if extra:
        raise ConfigError(f"{where}: unknown setting {sorted(extra)[0]!r}.")
    if kind in SERVER_KINDS and "queues" in table:
        raise ConfigError(f"{where}: a {kind} rule watches the server, not queues: drop queues.")
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
    if kind == "backlog" and "count" not in numbers and "age_seconds" not in numbers:
        raise ConfigError(
            f"{where}: a backlog rule needs count (jobs waiting) or age_seconds (the oldest "
            "waiting job's age)."
        )
    if "count" in numbers and not isinstance(numbers["count"], int):
        raise ConfigError(f"{where}: count must be a whole number.")
    if "age_seconds" in numbers and kind != "backlog":
        raise ConfigError(f"{where}: age_seconds is a backlog rule's setting, not {kind}'s.")
    if "percent" in numbers and kind not in SERVER_KINDS:
        raise ConfigError(f"{where}: percent is a quota or redis rule's setting, not {kind}'s.")
    if kind == "redis":
        numbers.setdefault("minutes", REDIS_MINUTES)
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
        service: ServiceCheck | None = None,
        quota: int = DEFAULT_QUOTA,
        connection: str | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        # With several Redis connections, the one these rules watch: every message names it.
        self.connection = connection
        self.config = config
        self.delivery = delivery or Delivery()
        self.clock = clock
        self.service = service
        self.quota = quota
        self._cas = redis.register_script(COMPARE_AND_SET)
        # field -> stored JSON, as this process last saw it; None until read once.
        self.state: dict[str, str] | None = None
        self._tallies: dict[tuple[str, str], Tally] = {}
        self._paused_since: dict[str, float] = {}
        self.checks = 0
        self.check_s = CHECK_S
        # unserved: since when jobs wait with none taken, the `active` totals last seen, and
        # the queues the service check confirmed nothing would take.
        self._waiting_since: dict[str, float] = {}
        self._taken: dict[str, int] = {}
        self._unserved: set[str] = set()
        # latency: per queue, when its oldest waiting job became due (ms; None: nothing
        # waited), when that was read, and the watcher's version of the queue then.
        self._oldest: dict[str, tuple[int | None, float, int]] = {}
        self.age_recheck_s = AGE_RECHECK_S
        # quota: the last INFO commandstats reading (when, executed) and the month it projects.
        self.quota_min_s = QUOTA_MIN_S
        self._quota_sample: tuple[float, int] | None = None
        self.projected: int | None = None
        self._quota_refused = False
        # redis: since when it has been unreachable, this process's own state of those rules,
        # and the sends not yet recorded in the (unreachable) sends stream.
        self._unreachable_since: float | None = None
        self.local: dict[str, dict[str, Any]] = {}
        # redis memory: the last INFO memory (one per primary) and when it was read.
        self.memory_every_s = MEMORY_EVERY_S
        self._memory: list[dict[str, Any]] = []
        self._memory_at: float | None = None
        self._memory_refused = False
        self._unrecorded: deque[dict[str, Any]] = deque(maxlen=SENDS_KEPT)

    @property
    def active(self) -> bool:
        return bool(self.config.rules)

    def _keep(self, kind: str) -> int:
        return 1 + max((r.threshold for r in self.config.rules if r.kind == kind), default=0)

    def _tally(self, queue: str, kind: str) -> Tally:
        key = (queue, kind)
        if key not in self._tallies:
            self._tallies[key] = Tally(self._keep(kind))
        return self._tallies[key]

    # What holds, from numbers already in memory.

    def _rules(self, kind: str) -> list[Rule]:
        return [rule for rule in self.config.rules if rule.kind == kind]

    def observe(
        self, summary: QueueSummary, totals: dict[str, int], now: float, taken: int = 0
    ) -> None:
        """One queue's counts and running totals of events (failed, stalled) as last seen, and
        how many jobs were taken from it (its `active` events) since watching began."""
        for kind, total in totals.items():
            self._tally(summary.name, kind).seen(total, now)
        if summary.is_paused:
            self._paused_since.setdefault(summary.name, now)
        else:
            self._paused_since.pop(summary.name, None)
        # The unserved clock: jobs waiting, and none taken since it started.
        if not takeable(summary) or taken != self._taken.get(summary.name):
            self._waiting_since.pop(summary.name, None)
        if takeable(summary):
            self._waiting_since.setdefault(summary.name, now)
        self._taken[summary.name] = taken

    def latency(self, queue: str, now: float) -> float | None:
        """Seconds the queue's oldest waiting job has waited, as last read; None: unknown or
        nothing waiting."""
        kept = self._oldest.get(queue)
        return None if kept is None else latency_s(kept[0], now)

    def holding(self, summaries: Iterable[QueueSummary], now: float) -> dict[str, str]:
        """Per state field (rule and queue) that holds now, the sentence saying why."""
        found: dict[str, str] = {}
        for summary in summaries:
            queue = summary.name
            for rule in self.config.rules:
                if rule.kind in SERVER_KINDS or not rule.matches(queue):
                    continue
                text = self._check(rule, summary, now)
                if text:
                    found[f"{rule.id}|{queue}"] = T_(
                        "%(queue)s: %(what)s (%(rule)s)",
                        queue=queue,
                        what=text,
                        rule=rule.describe(),
                    )
        return found

    def _check(self, rule: Rule, summary: QueueSummary, now: float) -> str | None:
        if rule.kind in ("failed", "stalled"):
            seen = self._tally(summary.name, rule.kind).within(rule.minutes * 60, now)
            if seen <= rule.threshold:
                return None
            if rule.kind == "failed":
                return Tp_("%(count)s job failed", "%(count)s jobs failed", seen)
            return Tp_("%(count)s job stalled", "%(count)s jobs stalled", seen)
        if rule.kind == "backlog":
            found = []
            waiting = summary.counts.get("waiting", 0) + summary.counts.get("prioritized", 0)
            if rule.count is not None and waiting > rule.count:
                found.append(Tp_("%(count)s job waiting", "%(count)s jobs waiting", waiting))
            age = self.latency(summary.name, now) if takeable(summary) else None
            if rule.age_seconds is not None and age is not None and age > rule.age_seconds:
                found.append(T_("the oldest has waited %(age)s s", age=round(age)))
            return ", ".join(found) or None
        if rule.kind == "unserved":
            since = self._waiting_since.get(summary.name)
            if summary.name not in self._unserved or since is None:
                return None
            if now - since < rule.minutes * 60:
                return None
            return T_(
                "%(n)s jobs waiting, none taken for %(m)s minutes; no worker connected and no "
                "cron drain in the last hour",
                n=takeable(summary),
                m=round((now - since) / 60),
            )
        since = self._paused_since.get(summary.name)
        if since is not None and now - since >= rule.minutes * 60:
            return T_("paused for %(m)s minutes", m=round((now - since) / 60))
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
            text = T_(
                "%(queue)s: resolved, no longer %(rule)s (firing since %(since)s)",
                queue=queue,
                rule=gone.describe() if gone else rule_id,
                since=since,
            )
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
                "text": self._said(event, text),
                "at": int(self.clock()),
                **self._where(),
            },
        )
        return 1

    def _said(self, event: str, text: str) -> str:
        where = f"{self.connection}: " if self.connection else ""
        return f"[{event}] {where}{text}"

    def _where(self) -> dict[str, str]:
        return {"connection": self.connection} if self.connection else {}

    async def deliver(self, names: Iterable[str], message: dict[str, Any]) -> list[str]:
        """Send to each destination; record each result in the capped sends stream."""
        destinations = [self.config.destinations[n] for n in names]
        results = await asyncio.gather(*(self.delivery.send(d, message) for d in destinations))
        for target, result in zip(destinations, results, strict=True):
            self._unrecorded.append({**message, "destination": target.name, "result": result})
        await self._record()
        return list(results)

    async def _record(self) -> None:
        """Write the sends not yet in the stream; kept for the next try when Redis is away
        (a `redis` alert is sent while it is)."""
        pending = list(self._unrecorded)
        pipe = self.redis.pipeline(transaction=False)
        for entry in pending:
            pipe.xadd(
                alert_sends_key(self.prefix),
                {"entry": json.dumps(entry, separators=(",", ":"))},
                maxlen=SENDS_KEPT,
                approximate=False,
            )
        spend("alerts", len(pipe))
        try:
            await pipe.execute()
        except (RedisError, OSError) as err:
            log.warning("alert sends not recorded yet (%s); kept for the next send", err)
            return
        for _ in pending:
            self._unrecorded.popleft()

    async def test(self) -> list[str]:
        message = {
            "event": "test",
            "rule": "test",
            "queue": "",
            "at": int(self.clock()),
            "text": "[test] " + T_("Drainboard alerts reach this destination."),
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
        """A drain tick: each kind judged from what the tick read (the module's docstring says
        what each costs). A queue the tick cannot judge for a kind keeps that kind's state."""
        now = self.clock()
        seen = dict(result.seen)
        unprocessed = [
            queue
            for queue, run in result.queues.items()
            if run.skipped == NO_PROCESSOR
            and any(r.kind in UNSERVED_KINDS and r.matches(queue) for r in self.config.rules)
        ]
        if unprocessed:
            seen.update(await self._look(unprocessed))
        summaries = {
            queue: QueueSummary(
                queue, {"waiting": s.waiting, "prioritized": s.prioritized}, bool(s.paused)
            )
            for queue, s in seen.items()
            if s.waiting is not None and s.prioritized is not None
        }
        aged = [
            summary
            for summary in summaries.values()
            if any(
                (r.kind == "backlog" and r.age_seconds is not None)
                or (r.kind == "unserved" and summary.name in unprocessed)
                for r in self.config.rules
                if r.matches(summary.name)
            )
        ]
        due = await oldest_waiting(
            self.redis, {s.name: QueueKeys(self.prefix, s.name) for s in aged}, aged, "alerts"
        )
        waiting_unserved = [
            q
            for q in unprocessed
            if q in summaries
            and takeable(summaries[q])
            and any(r.matches(q) for r in self._rules("unserved"))
        ]
        workers: list[clients.Client] | str = (
            await clients.read_clients(self.redis, self.prefix, list(result.queues))
            if waiting_unserved
            else []
        )
        holding: dict[str, str] = {}
        judged: dict[str, set[str]] = {}
        for queue, run in result.queues.items():
            for rule in self.config.rules:
                if rule.kind in SERVER_KINDS or not rule.matches(queue):
                    continue
                summary = summaries.get(queue)
                age = latency_s(due.get(queue), now)
                if rule.kind == "unserved":
                    text = self._tick_unserved(rule, run, summary, age, workers)
                else:
                    text = self._tick_check(rule, run, seen.get(queue), summary, age, now)
                if text is UNJUDGED:
                    continue
                judged.setdefault(rule.kind, set()).add(queue)
                if text:
                    holding[f"{rule.id}|{queue}"] = f"{queue}: {text} ({rule.describe()})"
        sent = await self._judge_memory(now)
        for kind, queues in judged.items():
            of_kind = {k: v for k, v in holding.items() if k.startswith(f"{kind}:")}
            sent += await self.settle(of_kind, queues, now, kinds={kind})
        return sent

    def _tick_check(
        self,
        rule: Rule,
        run: QueueRun,
        seen: Seen | None,
        summary: QueueSummary | None,
        age: float | None,
        now: float,
    ) -> str | None:
        if rule.kind in ("failed", "stalled"):
            count = run.jobs_failed if rule.kind == "failed" else run.stalled
            if count <= rule.threshold:
                return None
            if rule.kind == "failed":
                return Tp_(
                    "%(count)s job failed in a drain", "%(count)s jobs failed in a drain", count
                )
            return Tp_(
                "%(count)s job stalled in a drain", "%(count)s jobs stalled in a drain", count
            )
        if rule.kind == "backlog":
            if summary is None:
                return UNJUDGED
            found = []
            waiting = summary.counts["waiting"] + summary.counts["prioritized"]
            if rule.count is not None and waiting > rule.count:
                found.append(Tp_("%(count)s job waiting", "%(count)s jobs waiting", waiting))
            if rule.age_seconds is not None and age is not None and age > rule.age_seconds:
                found.append(T_("the oldest has waited %(age)s s", age=round(age)))
            return ", ".join(found) or None
        # paused: since its last event at least (the pause's own, or a later one).
        if seen is None or seen.paused is None:
            return UNJUDGED
        if not seen.paused or seen.last_event_ms is None:
            return None
        lasted = now - seen.last_event_ms / 1000
        if lasted < rule.minutes * 60:
            return None
        return T_("paused for at least %(m)s minutes", m=round(lasted / 60))

    def _tick_unserved(
        self,
        rule: Rule,
        run: QueueRun,
        summary: QueueSummary | None,
        age: float | None,
        workers: list[clients.Client] | str,
    ) -> str | None:
        """A drain serves the queues it has a processor for; another's waiting jobs are
        unserved once the oldest has waited `minutes` and no worker is connected."""
        if run.skipped != NO_PROCESSOR:
            return None
        if summary is None or isinstance(workers, str):
            return UNJUDGED  # not read, or CLIENT LIST refused: nothing can be said
        if not takeable(summary) or age is None or age < rule.minutes * 60:
            return None
        if clients.has_worker(workers, summary.name):
            return None
        return T_(
            "%(n)s jobs waiting, the oldest for %(m)s minutes; no processor for the drain and "
            "no worker connected",
            n=takeable(summary),
            m=round(age / 60),
        )

    async def _look(self, queues: list[str]) -> dict[str, Seen]:
        """Queues a drain skipped (no processor), as its probe sees the others: 4 commands each."""
        pipe = self.redis.pipeline(transaction=False)
        for queue in queues:
            keys = QueueKeys(self.prefix, queue)
            pipe.llen(keys.state("waiting"))
            pipe.zcard(keys.state("prioritized"))
            pipe.hget(keys.meta, "paused")
            pipe.xrevrange(keys.events, count=1)
        spend("alerts", len(pipe))
        replies = await pipe.execute()
        seen = {}
        for i, queue in enumerate(queues):
            waiting, prioritized, paused, last = replies[i * 4 : i * 4 + 4]
            last_ms = event_ms(str(last[0][0])) if last else None
            seen[queue] = Seen(int(waiting), int(prioritized), paused is not None, last_ms)
        return seen

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
        try:
            names: list[str] | None = await watcher.catalog.names()
        except (RedisError, OSError):
            names = None  # discovery needs Redis, and it is not there
        summaries = []
        for queue in names or []:
            summary = watcher.counts(queue)
            if summary is None:
                continue  # not read yet: nothing can be said
            totals = {kind: watcher.arrivals(queue, kind) for kind in ("failed", "stalled")}
            self.observe(summary, totals, now, taken=watcher.arrivals(queue, "active"))
            summaries.append(summary)
        # The watcher drops its counts when it loses Redis and reads them again on reconnecting:
        # queues known and none counted is Redis away (or the first read, a moment long).
        reachable = names is not None and (bool(summaries) or not names)
        sent = await self._check_redis(reachable, now)
        if not reachable:
            return sent  # no state can be read or changed until Redis is back
        await self._read_latency(watcher, summaries, now)
        await self._confirm_unserved(summaries, names or [], now)
        holding = self.holding(summaries, now)
        sent += await self.settle(holding, [s.name for s in summaries], now)
        # The server-wide fields, judged only when read again (a quota window, a minute).
        if await self._sample_quota(now):
            sent += await self.settle(self._quota_holding(), [""], now, kinds={"quota"})
        return sent + await self._judge_memory(now)

    async def _judge_memory(self, now: float) -> int:
        if not await self._sample_memory(now):
            return 0
        return await self.settle(self._memory_holding(), [""], now, kinds={"redis"})

    async def _sample_memory(self, now: float) -> bool:
        """One INFO memory (per primary) at most every `memory_every_s`, and only while a
        `redis` rule watches memory; True when read now."""
        if self._memory_refused or not any(r.percent is not None for r in self._rules("redis")):
            return False
        if self._memory_at is not None and now - self._memory_at < self.memory_every_s:
            return False
        try:
            self._memory = await on_primaries(self.redis, "info", "memory")
        except ResponseError as err:  # a managed Redis may refuse INFO: say so once
            log.warning("redis memory rules cannot run: this Redis refused INFO (%s)", err)
            self._memory_refused = True
            return False
        spend("alerts", len(self._memory))
        self._memory_at = now
        return True

    def _memory_holding(self) -> dict[str, str]:
        found = {}
        for rule in self._rules("redis"):
            if rule.percent is None:
                continue
            problems: list[str] = []
            for info in self._memory:
                used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
                policy = str(info.get("maxmemory_policy", "noeviction"))
                if limit and used > limit * rule.percent / 100:
                    problems.append(
                        T_("memory at %(share)s%% of maxmemory", share=round(100 * used / limit))
                    )
                if policy != "noeviction":
                    # BullMQ's keys must not be evicted: a job would vanish mid-flight.
                    problems.append(T_("eviction policy %(policy)s", policy=policy))
            if problems:
                said = "; ".join(dict.fromkeys(problems))
                found[f"{rule.id}|"] = T_(
                    "Redis: %(problems)s (%(rule)s)", problems=said, rule=rule.describe()
                )
        return found

    async def _read_latency(
        self, watcher: ChangeWatcher, summaries: list[QueueSummary], now: float
    ) -> None:
        """Read the oldest waiting job of the queues whose latency rules cannot be decided from
        memory (see the module's docstring): at most one pipeline a check."""
        rules = [r for r in self._rules("backlog") if r.age_seconds is not None]
        due: dict[str, int] = {}
        for summary in summaries:
            ages = [r.age_seconds for r in rules if r.matches(summary.name)]
            if not ages:
                continue
            version = watcher.version(summary.name)
            if not takeable(summary):
                self._oldest[summary.name] = (None, now, version)
                continue
            kept = self._oldest.get(summary.name)
            if kept is not None:
                due_ms, read_at, read_version = kept
                if read_version == version:
                    continue  # nothing moved: the same job is the oldest, older by now
                age = latency_s(due_ms, now)
                threshold = min(a for a in ages if a is not None)
                if age is not None and age <= threshold:
                    continue  # a job taken since can only have made the oldest younger
                if age is not None and now - read_at < min(threshold, self.age_recheck_s):
                    continue
            due[summary.name] = version
        if not due:
            return
        keys = {queue: QueueKeys(self.prefix, queue) for queue in due}
        asked = [summary for summary in summaries if summary.name in due]
        oldest = await oldest_waiting(self.redis, keys, asked, "alerts")
        for queue, due_ms in oldest.items():
            self._oldest[queue] = (due_ms, now, due[queue])

    async def _confirm_unserved(
        self, summaries: list[QueueSummary], names: list[str], now: float
    ) -> None:
        """The queues whose jobs have waited an unserved rule's minutes with none taken, that
        no connected worker or scheduled drain would take. Ask the service check (3 commands,
        its answer kept a minute) only about those not already firing: a firing one resolves
        from memory, when a job is taken or none waits."""
        rules = self._rules("unserved")
        waited = set()
        for summary in summaries:
            since = self._waiting_since.get(summary.name)
            if since is None:
                continue
            if any(r.matches(summary.name) and now - since >= r.minutes * 60 for r in rules):
                waited.add(summary.name)
        firing = {key.partition("|")[2] for key in self.state or {} if key.startswith("unserved:")}
        ask = [s for s in summaries if s.name in waited - firing]
        found = await self.service.unserved(ask, names) if ask and self.service else set()
        self._unserved = (waited & firing) | found

    async def _sample_quota(self, now: float) -> bool:
        """Read INFO commandstats once per window; True once a projection exists."""
        rules = self._rules("quota")
        if not rules or self._quota_refused:
            return False
        window = max(self.quota_min_s, min(r.minutes for r in rules) * 60)
        last = self._quota_sample
        if last is None or now - last[0] >= window:
            try:
                executed, primaries = await executed_so_far(self.redis)
            except ResponseError as err:  # a managed Redis may refuse INFO: say so once
                log.warning("quota rules cannot run: this Redis refused INFO (%s)", err)
                self._quota_refused = True
                return False
            spend("alerts", primaries)
            if last is not None:
                # Less the previous reading's own INFO on each primary.
                ran = max(0, executed - last[1] - primaries)
                self.projected = round(ran / (now - last[0]) * 60 * MINUTES_PER_MONTH)
            self._quota_sample = (now, executed)
        return self.projected is not None

    def _quota_holding(self) -> dict[str, str]:
        found = {}
        for rule in self._rules("quota"):
            allowed = self.quota * rule.share / 100
            if self.projected is not None and self.projected > allowed:
                found[f"{rule.id}|"] = T_(
                    "Redis: %(n)s commands projected this month at the last window's rate, "
                    "against a quota of %(quota)s (%(rule)s)",
                    n=self.projected,
                    quota=self.quota,
                    rule=rule.describe(),
                )
        return found

    async def _check_redis(self, reachable: bool, now: float) -> int:
        """Fire, repeat and resolve the `redis` rules, from this process's own state."""
        if reachable:
            self._unreachable_since = None
        elif self._unreachable_since is None:
            self._unreachable_since = now
        sent = 0
        for rule in self._rules("redis"):
            key = f"{rule.id}|"
            stored = self.local.get(key)
            since = self._unreachable_since
            if since is not None and now - since >= rule.minutes * 60:
                text = T_(
                    "Redis: unreachable for %(m)s minutes (%(rule)s)",
                    m=round((now - since) / 60),
                    rule=rule.describe(),
                )
                if stored is None:
                    self.local[key] = {"since": since, "sent": now, "text": text}
                    event = "firing"
                elif rule.repeat and now - stored["sent"] >= rule.repeat * 60:
                    stored.update(sent=now, text=text)
                    event = "still firing"
                else:
                    continue
            elif stored is not None and reachable:
                del self.local[key]
                at = time.strftime("%H:%M UTC", time.gmtime(stored["since"]))
                text = T_("Redis: resolved, reachable again (unreachable since %(at)s)", at=at)
                event = "resolved"
            else:
                continue
            message = {"event": event, "rule": rule.id, "queue": "", "at": int(self.clock())}
            await self.deliver(
                rule.send, {**message, **self._where(), "text": self._said(event, text)}
            )
            sent += 1
        return sent
