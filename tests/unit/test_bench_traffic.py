"""The pure helpers behind the benches' --traffic option (the benches themselves are no test)."""

import math

from bench.harness import traffic_summary
from bench.pages import commands_cell, header_commands
from bench.scale import busy_queues


def test_busy_queues_are_spread_and_never_the_timed_one() -> None:
    names = [f"q{i}" for i in range(10)]
    assert busy_queues(names, "q0", 3) == ["q1", "q4", "q7"]
    assert "q5" not in busy_queues(names, "q5", 9)
    assert busy_queues(names, "q5", 20) == [name for name in names if name != "q5"]


def test_header_commands_reads_ours_and_says_nan_for_a_server_that_does_not_say() -> None:
    assert header_commands({"x-redis-commands": "20"}) == 20
    assert math.isnan(header_commands({}))
    assert commands_cell(header_commands({})) == "-"
    assert commands_cell(20.5) == "20.5"


def test_traffic_summary_says_rate_queues_extras_and_jobs_completed() -> None:
    text = traffic_summary(100, ["a", "b"], True, 1234, 10.0)
    assert text.startswith("Traffic ran: Node BullMQ 5 adding 100 jobs/s in turn to a, b,")
    assert "a job scheduler every 2 s and a flow (parent + 3 children) in a;" in text
    assert text.endswith("1,234 jobs completed over the 10.0 s timed (123.4/s)")
    many = traffic_summary(0.5, [f"q{i}" for i in range(7)], False, 0, 0)
    assert "q0, q1, q2, q3, q4 and 2 more, a Worker per queue completing them;" in many
    assert "scheduler" not in many and many.endswith("(-)")
