"""The alert rule file: the issue's form parses, every mistake is one sentence; the pure parts of
evaluation and delivery (windows, URLs shown without their secret, payloads, rate limit)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dashboard.bullmq.reader import QueueSummary
from dashboard.config import ConfigError
from dashboard.observe import alerts
from dashboard.observe.alert_delivery import Delivery, Destination, body, safe_url

ISSUE_FORM = """
[destination.ops]
url = "https://hooks.example/services/T0/B0/secret"
format = "slack"          # or "json"

[[rule]]
kind = "failed"
queues = "billing-*"
count = 5
minutes = 10
send = ["ops"]
"""


def test_the_issue_form_parses(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(ISSUE_FORM)
    config = alerts.load(str(path))
    (rule,) = config.rules
    assert (rule.kind, rule.queues, rule.count, rule.minutes, rule.send) == (
        "failed", "billing-*", 5, 10, ("ops",)
    )  # fmt: skip
    assert rule.matches("billing-eu") and not rule.matches("mail")
    assert config.destinations["ops"].format == "slack"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[rule]]\nkind = 'nope'", "kind must be one of"),
        ("[[rule]]\nkind = 'backlog'", "needs count"),
        ("[[rule]]\nkind = 'failed'\nage_seconds = 5", "age_seconds is a backlog rule's"),
        ("[[rule]]\nkind = 'paused'\npercent = 90", "percent is a quota or redis rule's"),
        ("[[rule]]\nkind = 'quota'\nqueues = 'mail'", "watches the server, not queues"),
        ("[destination.m]\nurl = 'smtp://mail.example'", "needs to, e.g."),
        ("[destination.m]\nurl = 'smtp://h'\nto = 'a@b'\nfrom = 'me'", "from must be an email"),
        ("[destination.m]\nurl = 'smtps://h'\nto = 'a@b'\nformat = 'json'", "drop format"),
        ("[[rule]]\nkind = 'failed'\ncount = -1", "count must be a number of 0 or more"),
        ("[[rule]]\nkind = 'failed'\ncount = 1.5", "whole number"),
        ("[[rule]]\nkind = 'failed'\nsend = ['pager']", "which no [destination.pager]"),
        ("[[rule]]\nkind = 'failed'\ncolour = 1", "unknown setting 'colour'"),
        ("[destination.ops]\nurl = 'ftp://x'", "http:// or https://"),
        ("[destination.ops]\nurl = 'https://x'\nformat = 'xml'", "slack or json"),
        ("[rules]\nx = 1", "unknown table 'rules'"),
        ("kind = ", "not valid TOML"),
    ],
)
def test_mistakes_are_one_sentence(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text("[destination.any]\nurl = 'https://h.example/x'\n" + text)
    with pytest.raises(ConfigError) as err:
        alerts.load(str(path))
    message = str(err.value)
    assert says in message
    assert message.endswith(".") and "\n" not in message


def test_a_missing_file_is_one_sentence() -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        alerts.load("/nonexistent/alerts.toml")


def test_a_window_counts_only_recent_events() -> None:
    tally = alerts.Tally(keep=3)
    tally.seen(2, now=100.0)
    tally.seen(5, now=160.0)  # 3 more: only the last 3 times are kept
    assert tally.within(30, now=170.0) == 3
    assert tally.within(30, now=200.0) == 0


def test_rules_hold_from_counts_in_memory() -> None:
    config = alerts.parse(
        {
            "destination": {"ops": {"url": "https://h.example/x"}},
            "rule": [{"kind": "backlog", "count": 2}, {"kind": "paused", "minutes": 1}],
        }
    )
    evaluator = alerts.Alerts(_NoRedis(), "bull", config)  # type: ignore[arg-type]
    counts = {"waiting": 2, "prioritized": 1}
    summary = QueueSummary("mail", counts, is_paused=True)
    evaluator.observe(summary, {}, now=0.0)
    assert list(evaluator.holding([summary], now=30.0)) == ["backlog:*:2:10|mail"]
    assert len(evaluator.holding([summary], now=61.0)) == 2


def test_urls_are_shown_without_their_secret() -> None:
    assert (
        safe_url("https://hooks.slack.com/services/T0/B0/secret?x=1") == "https://hooks.slack.com"
    )
    assert safe_url("http://user:pw@127.0.0.1:8080/hook") == "http://127.0.0.1:8080"


def test_payloads() -> None:
    message = {"event": "firing", "text": "[firing] mail: 3 jobs waiting"}
    assert body(Destination("s", "https://x", "slack"), message) == {"text": message["text"]}
    assert body(Destination("j", "https://x", "json"), message) == message


async def test_retries_then_rate_limit() -> None:
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503 if len(calls) == 1 else 200)

    delivery = Delivery(httpx.MockTransport(answer), per_minute=2, backoff_s=0)
    ops = Destination("ops", "https://h.example/secret")
    assert await delivery.send(ops, {"text": "a"}) == "200"
    assert len(calls) == 2  # the 503 was retried
    assert await delivery.send(ops, {"text": "b"}) == "200"
    assert await delivery.send(ops, {"text": "c"}) == "rate limited"
    assert len(calls) == 3


class _NoRedis:
    def register_script(self, _script: str) -> None:
        return None


def test_the_new_kinds_and_an_email_destination_parse() -> None:
    config = alerts.parse(
        {
            "destination": {
                "mail": {"url": "smtps://bot:pw@mail.example:465", "to": "ops@example.com"}
            },
            "rule": [
                {"kind": "backlog", "queues": "mail", "age_seconds": 30},
                {"kind": "unserved", "minutes": 5},
                {"kind": "redis"},
                {"kind": "quota", "percent": 80},
            ],
        }
    )
    backlog, unserved, redis, quota = config.rules
    assert backlog.describe() == "oldest waiting longer than 30 s"
    assert unserved.minutes == 5 and redis.minutes == alerts.REDIS_MINUTES
    assert quota.id == "quota:*:0:10:80%"
    mail = config.destinations["mail"]
    assert (mail.format, mail.to, mail.shown) == (
        "email",
        ("ops@example.com",),
        "smtps://mail.example:465",
    )


def test_latency_rules_hold_from_the_oldest_job_read() -> None:
    config = alerts.parse(
        {
            "destination": {"ops": {"url": "https://h.example/x"}},
            "rule": [{"kind": "backlog", "age_seconds": 60}],
        }
    )
    evaluator = alerts.Alerts(_NoRedis(), "bull", config)  # type: ignore[arg-type]
    summary = QueueSummary("mail", {"waiting": 1, "prioritized": 0}, is_paused=False)
    evaluator._oldest["mail"] = (100_000, 100.0, 1)  # due at 100 s, read at 100 s
    assert evaluator.holding([summary], now=150.0) == {}
    (text,) = evaluator.holding([summary], now=170.5).values()
    assert text == "mail: the oldest has waited 70 s (oldest waiting longer than 60 s)"


def test_server_rules_never_hold_for_a_queue() -> None:
    """`redis` and `quota` rules are the server's: a paused queue does not make them hold."""
    config = alerts.parse(
        {
            "destination": {"ops": {"url": "https://h.example/x"}},
            "rule": [{"kind": "redis", "minutes": 0}, {"kind": "quota", "minutes": 0}],
        }
    )
    evaluator = alerts.Alerts(_NoRedis(), "bull", config)  # type: ignore[arg-type]
    summary = QueueSummary("mail", {"waiting": 0, "prioritized": 0}, is_paused=True)
    evaluator.observe(summary, {}, now=0.0)
    assert evaluator.holding([summary], now=10.0) == {}
