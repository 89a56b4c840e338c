"""How the watcher moves its kept counts by a batch of events' deltas."""

from __future__ import annotations

from dashboard.live.watcher import _drifted, _moved


def test_jobs_leave_wait_before_prioritized() -> None:
    counts = {"waiting": 2, "prioritized": 5, "active": 0}
    moved, off = _moved(counts, {"waiting": -3, "active": 3})
    assert moved == {"waiting": 0, "prioritized": 4, "active": 3} and off == set()


def test_a_count_going_negative_is_read_again() -> None:
    moved, off = _moved({"active": 1, "completed": 0}, {"active": -2, "completed": 2})
    assert moved == {"active": 0, "completed": 2} and off == {"active"}
    moved, off = _moved({"waiting": 1, "prioritized": 0}, {"waiting": -2})
    assert moved["prioritized"] == 0 and off == {"waiting", "prioritized"}


def test_events_still_on_their_way_are_not_drift() -> None:
    # Jobs finished after the batch raise the finished counts; only trims lower them.
    assert not _drifted("completed", 12, 10) and _drifted("completed", 0, 10)
    assert not _drifted("failed", 3, 3) and _drifted("failed", 2, 3)
    # The waiting list moves either way with late events; a wrong split shows in prioritized.
    assert not _drifted("waiting", 0, 4) and not _drifted("waiting", 9, 4)
    assert _drifted("prioritized", 1, 0) and not _drifted("prioritized", 0, 0)
