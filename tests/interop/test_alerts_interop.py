"""Alerts from conditions Node BullMQ produces: a Node Worker's failures and jobs Node adds fire
`failed` and `backlog` rules once each, and each resolves once."""

from __future__ import annotations

import time

import pytest

from tests.helpers import MAJORS, alert_dashboards, alert_kinds, alert_rules_file, node_json

RULES = (
    '[[rule]]\nkind = "failed"\nqueues = "billing"\ncount = 1\nminutes = 0.1\nrepeat = 0\n\n'
    '[[rule]]\nkind = "backlog"\nqueues = "billing"\ncount = 2\nrepeat = 0\n'
)


@pytest.mark.parametrize("major", MAJORS, ids=[f"bullmq{m}" for m in MAJORS])
def test_node_failures_and_backlog_fire_and_resolve_once(
    node, major, server_url, alert_receiver, tmp_path
) -> None:
    hook, hook_url = alert_receiver
    alerts = alert_rules_file(tmp_path, hook_url, RULES)

    def run(action: str, n: int) -> dict[str, int]:
        return node_json(node, "alerting.mjs", major, server_url, "billing", action, str(n))

    run("fail", 1)  # before the dashboard starts: the queue exists, the failure is old
    with alert_dashboards(server_url, alerts):
        time.sleep(1.5)
        assert run("fail", 2)["failed"] == 3
        hook.wait(lambda t: alert_kinds(t, "firing") == 1)
        assert run("add", 3)["waiting"] == 3
        hook.wait(lambda t: alert_kinds(t, "firing") == 2)
        assert run("drain", 0)["waiting"] == 0
        hook.wait(lambda t: alert_kinds(t, "resolved") == 2)
        time.sleep(1.0)
    texts = hook.texts()
    assert [t.split("]")[0] for t in texts] == ["[firing", "[firing", "[resolved", "[resolved"]
    assert texts[0].startswith("[firing] billing: 2 jobs failed"), texts
    assert texts[1].startswith("[firing] billing: 3 jobs waiting"), texts
