"""The quota report from a measurement: per-client figures, the pairing of Node workers'
unnamed command connections, the model where Redis does not count per connection, the month
and the advice."""

from __future__ import annotations

import base64

from dashboard.observe.cost import Assumptions
from dashboard.observe.measure import Connection, Measurement
from dashboard.observe.quota import report


def node_name(queue: str) -> str:
    return "bull:" + base64.b64encode(queue.encode()).decode()


def conn(name: str, id: str, commands: int | None, *, kind: str = "client", age: int = 100,
         command: str = "evalsha") -> Connection:  # fmt: skip
    return Connection(None, kind, "other", name, 0, command, kind == "worker", id, commands, age,
                      "10.0.0.5")  # fmt: skip


def measurement(commands: bool) -> Measurement:
    """Five Node workers on batch-jobs (each a named blocking and an unnamed command
    connection, opened in the same second), a QueueEvents, Drainboard and redis-cli; one minute."""
    count = (lambda n: n) if commands else (lambda n: None)
    connections = []
    for i in range(5):
        connections.append(conn(node_name("batch-jobs"), f"0:{i}", count(12), kind="worker",
                                command="bzpopmin"))  # fmt: skip
        connections.append(conn("", f"0:c{i}", count(95), age=101))
    connections.append(conn(node_name("batch-jobs") + ":qe", "0:qe", count(6), command="xread"))
    connections.append(conn("drainboard:web", "0:web", count(3), age=5))
    connections.append(conn("", "0:cli", count(40), age=7, command="get"))
    m = Measurement(seconds=60, elapsed=60, per_minute={"evalsha": 400, "get": 160, "xread": 6})
    m.connections = connections
    if commands:
        m.executed_by_connection = {c.id: c.commands or 0 for c in connections}
    return m


def test_measured_per_connection() -> None:
    data = report(measurement(True), "bull", ["batch-jobs"], Assumptions())
    rows = {(r["kind"], r["queue"]): r for r in data["clients"]}
    workers = rows[("node-worker", "batch-jobs")]
    assert workers["workers"] == 5 and workers["connections"] == 10
    assert workers["executedPerMinute"] == 5 * (12 + 95) and workers["source"] == "measured"
    assert rows[("queue-events", "batch-jobs")]["executedPerMinute"] == 6
    assert rows[("drainboard", None)]["executedPerMinute"] == 0  # its own 3 are the measurement
    assert rows[("other", None)]["executedPerMinute"] == 40
    assert data["clientsPerMinute"] == 535 + 6 + 40
    assert data["unaccountedPerMinute"] == 566 - 581
    assert workers["change"] == (
        "5 Node workers on batch-jobs: 23,112,000 a month. "
        "`drainboard drain` from a cron every 5 min: 17,280."
    )
    month = data["month"]
    assert month["projected"] == 566 * 43_200
    assert month["runsOutOnDay"] == 1 and month["quotaLastsDays"] == 0.6


def test_modelled_where_redis_has_no_per_connection_count() -> None:
    data = report(measurement(False), "bull", ["batch-jobs"], Assumptions())
    assert data["perClient"] == "model" and "tot-cmds" in data["perClientNote"]
    rows = {(r["kind"], r["queue"]): r for r in data["clients"]}
    workers = rows[("node-worker", "batch-jobs")]
    assert workers["source"] == "model" and workers["executedPerMinute"] == 537.5
    assert rows[("queue-events", "batch-jobs")]["executedPerMinute"] == 6
    # redis-cli is nobody the model knows: no figure, so its share is unaccounted.
    assert rows[("node-worker", "batch-jobs")]["connections"] == 10
    assert rows[("other", None)]["connections"] == 1
    assert rows[("other", None)]["executedPerMinute"] is None
    assert data["unaccountedPerMinute"] == round(566 - 537.5 - 6, 1)
