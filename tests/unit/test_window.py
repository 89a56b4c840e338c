"""The sliding one-minute window, on a clock the test moves."""

from dashboard.live.window import WINDOW_S, MinuteWindow


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_empty_window_totals_zero() -> None:
    assert MinuteWindow(Clock()).total() == 0


def test_adds_are_summed_with_their_amounts() -> None:
    window = MinuteWindow(Clock())
    window.add(1)
    window.add(5)
    window.add(0)
    assert window.total() == 6


def test_events_leave_the_window_after_sixty_seconds() -> None:
    clock = Clock()
    window = MinuteWindow(clock)
    window.add(3)
    clock.now += 30
    window.add(4)
    clock.now += WINDOW_S  # the first add is 90 s old, the second exactly 60 s
    assert window.total() == 4
    clock.now += 0.001
    assert window.total() == 0


def test_an_event_exactly_sixty_seconds_old_still_counts() -> None:
    clock = Clock()
    window = MinuteWindow(clock)
    window.add(2)
    clock.now += WINDOW_S
    assert window.total() == 2


def test_old_events_are_dropped_not_just_skipped() -> None:
    clock = Clock()
    window = MinuteWindow(clock)
    for _ in range(1000):
        window.add(1)
        clock.now += 1
    assert window.total() == 60  # the adds 60 s .. 1 s old
    assert len(window._events) == 60


def test_a_window_keeps_any_values_in_order() -> None:
    clock = Clock()
    window: MinuteWindow[frozenset[str]] = MinuteWindow(clock)
    window.add(frozenset({"a"}))
    clock.now += 61
    window.add(frozenset({"b"}))
    window.add(frozenset({"c"}))
    assert window.recent() == [frozenset({"b"}), frozenset({"c"})]
    assert window.seconds_since_oldest() == 0
