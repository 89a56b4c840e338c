import base64

from dashboard.measure import classify

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
