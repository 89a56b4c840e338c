import base64

from dashboard.observe.cost import Assumptions
from dashboard.observe.measure import Connection, Measurement, classify, merged

QUEUES = {"mail", "sms"}


def b64(name: str) -> str:
    return base64.b64encode(name.encode()).decode()


def test_node_worker_queue_events_and_plain_client() -> None:
    worker = classify(
        {"name": f"bull:{b64('mail')}", "cmd": "bzpopmin", "idle": "3"}, "bull", QUEUES
    )
    assert (worker.queue, worker.kind, worker.runtime, worker.idle_s) == (
        "mail",
        "worker",
        "node",
        3,
    )
    events = classify({"name": f"bull:{b64('sms')}:qe", "cmd": "xread"}, "bull", QUEUES)
    assert (events.queue, events.kind) == ("sms", "queue-events")
    producer = classify({"name": f"bull:{b64('mail')}", "cmd": "evalsha"}, "bull", QUEUES)
    assert producer.kind == "client"


def test_named_node_worker_and_python_worker() -> None:
    named = classify({"name": f"bull:{b64('mail')}:w:eu-1", "cmd": "bzpopmin"}, "bull", QUEUES)
    assert (named.queue, named.runtime, named.kind) == ("mail", "node", "worker")
    python = classify({"name": "bull:sms", "cmd": "bzpopmin", "flags": "b"}, "bull", QUEUES)
    assert (python.queue, python.runtime, python.kind, python.blocked) == (
        "sms",
        "python",
        "worker",
        True,
    )


def test_strangers_are_not_attributed() -> None:
    for name in ("", "other:mail", f"bull:{b64('unknown')}", "bull:not*base64"):
        conn = classify({"name": name, "cmd": "bzpopmin"}, "bull", QUEUES)
        assert conn.queue is None and conn.kind == "client"


def test_drainboard_always_on_worker_is_recognised() -> None:
    ours = classify({"name": "bull:mail:w:drainboard-always", "cmd": "bzpopmin"}, "bull", QUEUES)
    assert (ours.queue, ours.kind, ours.runtime) == ("mail", "worker", "drainboard")


def test_a_worker_between_two_blocking_reads_is_still_a_worker() -> None:
    def seen(name: str, command: str) -> Connection:
        return classify({"name": name, "cmd": command}, "bull", QUEUES)

    node = f"bull:{b64('mail')}"
    start = [seen("bull:sms", "bzpopmin"), seen(node, "bzpopmin"), seen(node, "bzpopmin")]
    # At the end the Python worker is reconnecting and one Node worker is between reads.
    end = [seen("bull:sms", "evalsha"), seen(node, "bzpopmin"), seen(node, "evalsha")]
    workers = sorted((c.queue, c.runtime) for c in merged(start, end) if c.kind == "worker")
    assert workers == [("mail", "node"), ("mail", "node"), ("sms", "python")]
    assert len(merged(end, end)) == 3  # nothing counted twice


def test_the_total_splits_into_this_dashboard_and_the_rest_over_one_window() -> None:
    window = Measurement(seconds=10, elapsed=10, per_minute={"get": 54, "evalsha": 6})
    window.own = {"watcher": 3, "reads": 2}  # this process's commands in the same 10 s
    assert window.as_json(Assumptions())["dashboardPerMinute"] == 30
    split = window.as_json(Assumptions())
    assert (split["dashboardWatcherPerMinute"], split["othersPerMinute"]) == (18, 30)
    assert split["executedPerMinute"] == 60


def test_a_total_not_measured_is_none_not_zero() -> None:
    refused = Measurement(seconds=10, elapsed=10, refused=["INFO commandstats: no"])
    refused.own = {"reads": 1}
    split = refused.as_json(Assumptions())
    assert split["executedPerMinute"] is None and split["othersPerMinute"] is None
    assert split["executedPerMonth"] is None and split["dashboardPerMinute"] == 6
