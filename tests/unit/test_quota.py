"""The quota report from a measurement: per-client figures, the pairing of Node workers'
unnamed command connections, the model where Redis does not count per connection, the month
and the advice."""

from __future__ import annotations

import base64
from dataclasses import replace

from dashboard.observe.cost import Assumptions
from dashboard.observe.measure import Connection, Measurement, closing
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


def test_drainboard_counts_itself_where_redis_counts_no_client() -> None:
    m = measurement(False)
    m.own = {"watcher": 2, "reads": 18}
    data = report(m, "bull", ["batch-jobs"], Assumptions())
    rows = {(r["kind"], r["queue"]): r for r in data["clients"]}
    own = rows[("drainboard", None)]
    assert own["executedPerMinute"] == 20 and own["source"] == "counted by this dashboard"
    assert data["unaccountedPerMinute"] == round(566 - 537.5 - 6 - 20, 1)
    # Where Redis counts per connection, its count wins over the dashboard's own.
    m = measurement(True)
    m.own = {"reads": 500}
    rows = {(r["kind"], r["queue"]): r for r in report(m, "bull", [], Assumptions())["clients"]}
    assert rows[("drainboard", None)]["source"] == "measured"


def python_worker(id: str, *, blocking: bool) -> Connection:
    """A Python `bullmq` worker's connection on pyq: its blocking one, or its command one."""
    return Connection("pyq", "worker" if blocking else "client", "python", "bull:pyq", 0,
                      "bzpopmin" if blocking else "evalsha", blocking, id, 4, 3)  # fmt: skip


def test_closing_shows_a_connection_gone_and_a_worker_between_blocking_connections() -> None:
    command = python_worker("0:p", blocking=False)
    first, second = python_worker("0:b1", blocking=True), python_worker("0:b2", blocking=True)
    node = conn(node_name("batch-jobs"), "0:n", 12, kind="worker", command="bzpopmin")
    node = replace(node, queue="batch-jobs")
    # The blocking connection open at the start is gone at the end, where a new one is open.
    assert closing([command, first, node], [command, second, node]) == [first]
    # At the end the worker is between two blocking connections: one closed in the window.
    assert closing([command, first, node], [command, node]) == [first, command]
    # Nothing closed: the same connections at both ends.
    assert closing([command, first, node], [command, first, node]) == []


def test_closed_connections_of_one_client_take_the_rest_and_of_two_stay_unaccounted() -> None:
    m = measurement(True)
    m.per_minute["bzpopmin"] = 30
    command = python_worker("0:p", blocking=False)
    m.connections.append(command)
    m.executed_by_connection = {**(m.executed_by_connection or {}), "0:p": 0}
    m.closing = [python_worker("0:b1", blocking=True)]
    data = report(m, "bull", ["batch-jobs", "pyq"], Assumptions())
    rows = {(r["kind"], r["queue"]): r for r in data["clients"]}
    worker = rows[("python-worker", "pyq")]
    # 596 executed, 581 by open connections (less the measurement's own): 15 by the
    # worker's closed ones.
    assert worker["executedPerMinute"] == 15 and worker["closedPerMinute"] == 15
    assert data["unaccountedPerMinute"] == 0 and data["closedConnectionsOf"] == []

    m.closing.append(conn("", "0:gone", 7))  # an unnamed client's connection closed too
    data = report(m, "bull", ["batch-jobs", "pyq"], Assumptions())
    rows = {(r["kind"], r["queue"]): r for r in data["clients"]}
    assert rows[("python-worker", "pyq")]["executedPerMinute"] == 0
    assert data["unaccountedPerMinute"] == 15
    assert data["closedConnectionsOf"] == ["Python worker on pyq", "other"]
