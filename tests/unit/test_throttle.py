"""Per-client one-minute limits, on a clock the test moves."""

from types import SimpleNamespace

import pytest

from dashboard.web.middleware import throttle
from dashboard.web.middleware.throttle import WINDOW_S, PerMinute


class Clock:
    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_under_the_limit_calls_pass(clock) -> None:
    limit = PerMinute(3, clock)
    assert [limit.take("1.2.3.4") for _ in range(3)] == [0, 0, 0]


def test_over_the_limit_says_how_long_to_wait(clock) -> None:
    limit = PerMinute(2, clock)
    limit.take("a")
    clock.t += 10
    limit.take("a")
    clock.t += 5
    # The oldest call leaves the window 45 s from now; rounded up past it.
    assert limit.take("a") == 46
    assert limit.retry_after("a") == 46
    assert len(limit.events["a"].recent()) == 2  # a refused call is not counted


def test_the_window_slides(clock) -> None:
    limit = PerMinute(2, clock)
    limit.take("a")
    clock.t += 10
    limit.take("a")
    clock.t += WINDOW_S - 10 - 0.5
    assert limit.retry_after("a") == 1
    clock.t += 0.75  # the first call is past 60 s old: out
    assert limit.take("a") == 0
    assert limit.retry_after("a") == 10  # now the second call is the oldest, 50.25 s old


def test_clients_are_counted_apart(clock) -> None:
    limit = PerMinute(1, clock)
    assert limit.take("a") == 0
    assert limit.take("a") > 0
    assert limit.take("b") == 0
    assert limit.retry_after("unseen") == 0


def test_add_counts_even_over_the_limit(clock) -> None:
    # Wrong secrets are recorded with add(): the lock-out grows with each one.
    limit = PerMinute(1, clock)
    limit.add("a")
    limit.add("a")
    assert len(limit.events["a"].recent()) == 2
    assert limit.retry_after("a") == WINDOW_S + 1


def test_emptied_windows_are_dropped_past_the_tracked_cap(clock, monkeypatch) -> None:
    monkeypatch.setattr(throttle, "MAX_TRACKED_CLIENTS", 3)
    limit = PerMinute(5, clock)
    limit.add("old1")
    limit.add("old2")
    clock.t += WINDOW_S + 1
    limit.add("recent")
    limit.add("new")  # 3 tracked: the two idle past 60 s go, the recent one stays
    assert set(limit.events) == {"recent", "new"}


def test_under_the_cap_nothing_is_dropped(clock, monkeypatch) -> None:
    monkeypatch.setattr(throttle, "MAX_TRACKED_CLIENTS", 3)
    limit = PerMinute(5, clock)
    limit.add("old1")
    clock.t += WINDOW_S
    limit.add("old2")
    limit.add("old3")
    assert set(limit.events) == {"old1", "old2", "old3"}


def test_client_of_reads_the_peer_address() -> None:
    assert (
        throttle.client_of(SimpleNamespace(client=SimpleNamespace(host="10.0.0.9"))) == "10.0.0.9"
    )
    assert throttle.client_of(SimpleNamespace(client=None)) == "unknown"
