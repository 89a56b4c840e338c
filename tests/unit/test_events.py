"""Which counts a BullMQ event may have changed, as BullMQ 5 and 6 scripts write them."""

from __future__ import annotations

from dashboard.bullmq.events import Move, arrival, move, touched


def test_moves_name_both_ends() -> None:
    active = {"event": "active", "jobId": "1", "prev": "waiting"}
    assert touched(active, paused=False) == {"active", "waiting", "prioritized"}
    done = {"event": "completed", "jobId": "1", "prev": "active", "returnvalue": "1"}
    assert touched(done, paused=False) == {"completed", "active"}
    retried = {"event": "waiting", "jobId": "1", "prev": "failed"}
    assert touched(retried, paused=False) == {"waiting", "prioritized", "failed"}


def test_new_jobs_and_a_paused_queue() -> None:
    assert touched({"event": "waiting", "jobId": "1"}, paused=False) == {"waiting", "prioritized"}
    assert touched({"event": "waiting", "jobId": "1"}, paused=True) == {
        "waiting",
        "prioritized",
        "paused",
    }
    backoff = {"event": "delayed", "jobId": "1", "delay": "5"}
    assert touched(backoff, paused=False) == {"delayed", "active", "waiting-children"}


def test_silent_and_unknown_events() -> None:
    for name in ("added", "progress", "drained", "stalled", "retries-exhausted"):
        assert touched({"event": name, "jobId": "1"}, paused=False) == frozenset()
    for fields in (
        {"event": "cleaned", "count": "4"},
        {"event": "paused"},
        {"event": "resumed"},
        {"event": "removed", "jobId": "1"},
        {"event": "waiting", "jobId": "1", "prev": "somewhere"},
        {"event": "from-a-future-bullmq"},
    ):
        assert touched(fields, paused=False) is None, fields
    assert touched({"event": "removed", "jobId": "1", "prev": "delayed"}, False) == {"delayed"}


def test_arrivals_count_the_list_entered() -> None:
    assert arrival({"event": "completed", "prev": "active"}) == "completed"
    assert arrival({"event": "added"}) is None
    assert arrival({"event": "removed", "prev": "failed"}) is None


def test_a_schedulers_job_recounts_the_schedulers() -> None:
    iteration = {"event": "delayed", "jobId": "repeat:nightly:1700000000000", "delay": "9"}
    assert "schedulers" in touched(iteration, paused=False)
    assert "schedulers" not in touched({"event": "delayed", "jobId": "7"}, paused=False)


def test_moves_say_how_counts_changed() -> None:
    new = move({"event": "waiting", "jobId": "1"})
    assert new is not None and new.deltas == {"waiting": 1}
    assert new.drift == {"waiting", "prioritized"}  # the entry does not say which it entered
    taken = move({"event": "active", "jobId": "1", "prev": "waiting"})
    assert taken is not None and taken.deltas == {"active": 1, "waiting": -1}
    done = move({"event": "completed", "jobId": "1", "prev": "active", "returnvalue": "1"})
    assert done is not None and done.deltas == {"completed": 1, "active": -1}
    assert done.drift == {"completed"}  # removeOnComplete trims with no event
    retried = move({"event": "waiting", "jobId": "1", "prev": "failed"})
    assert retried is not None and retried.deltas == {"waiting": 1, "failed": -1}
    removed = move({"event": "removed", "jobId": "1", "prev": "prioritized"})
    assert removed is not None and removed.deltas == {"prioritized": -1}
    parent = move({"event": "waiting", "jobId": "p", "prev": "waiting-children"})
    assert parent is not None and parent.deltas == {"waiting": 1, "waiting-children": -1}


def test_what_moves_cannot_say() -> None:
    backoff = move({"event": "delayed", "jobId": "1", "delay": "5"})
    assert backoff is not None and backoff.deltas == {}
    assert backoff.reread == {"delayed", "active", "waiting-children"}
    for name in ("added", "drained", "stalled", "retries-exhausted", "duplicated"):
        assert move({"event": name, "jobId": "1"}) == Move(), name
    for fields in (
        {"event": "cleaned", "count": "4"},
        {"event": "paused"},
        {"event": "resumed"},
        {"event": "removed", "jobId": "1"},
        {"event": "waiting", "jobId": "1", "prev": "somewhere"},
        {"event": "from-a-future-bullmq"},
    ):
        assert move(fields) is None, fields
