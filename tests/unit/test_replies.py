"""Numbers Redis and BullMQ store as text, read once and the same way everywhere."""

from __future__ import annotations

import pytest

from dashboard.redis_client.replies import to_int


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("42", 42), (b"7", 7), ("1.7e12", 1_700_000_000_000), ("3.9", 3), (5, 5), (2.5, 2)],
)
def test_numbers_as_text(raw: object, expected: int) -> None:
    assert to_int(raw) == expected


@pytest.mark.parametrize("raw", [None, "", b"", "abc", "nan", "inf", float("inf"), [1], {}])
def test_missing_or_unreadable_gives_the_default(raw: object) -> None:
    assert to_int(raw) == 0
    assert to_int(raw, None) is None
    assert to_int(raw, 9) == 9
