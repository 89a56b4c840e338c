"""Flow pages without Redis: the cursor, and `_take` filling a page from the groups' scan replies.

GROUPS is processed (HSCAN), pending (SSCAN), failed (ZRANGE), ignored (HSCAN), as in
keys.CHILD_GROUPS. A scan reply is `(next cursor, items)`; a ZRANGE reply is the members.
"""

import pytest

from dashboard.bullmq.flows import GROUPS, BadCursor, Cursor, _take

PROCESSED, PENDING, FAILED, IGNORED = range(4)


def test_groups_are_in_bullmqs_order_with_their_key_kinds() -> None:
    assert GROUPS == ("processed", "pending", "failed", "ignored")


def test_cursor_round_trips_through_its_text() -> None:
    cursor = Cursor(2, 1234, 5)
    assert str(cursor) == "2.1234.5"
    assert Cursor.parse(str(cursor)) == cursor


def test_no_cursor_starts_at_the_first_group() -> None:
    assert Cursor.parse(None) == Cursor(0, 0, 0)
    assert Cursor.parse("") == Cursor(0, 0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        "1.2",
        "1.2.3.4",
        "a.0.0",
        "-1.0.0",
        "0.-1.0",
        "0..0",
        " 0.0.0",
        "0.0.1e3",
        "0.123456789012345678901.0",
    ],
)
def test_cursor_refuses_what_no_page_wrote(raw: str) -> None:
    with pytest.raises(BadCursor, match="cursor must be the value a previous page returned"):
        Cursor.parse(raw)


def test_cursor_refuses_a_group_past_the_last() -> None:
    with pytest.raises(BadCursor, match="names no group"):
        Cursor.parse("4.0.0")
    assert Cursor.parse("3.0.0") == Cursor(3)


def test_bad_cursor_is_a_value_error() -> None:
    assert issubclass(BadCursor, ValueError)


def test_one_finished_group_smaller_than_the_page() -> None:
    replies = [(0, {"bull:q:1": "r1", "bull:q:2": "r2"})]
    picked, cursor = _take([PROCESSED], replies, Cursor(), 5)
    assert picked == [("processed", "bull:q:1"), ("processed", "bull:q:2")]
    assert cursor is None


def test_page_fills_across_groups_in_group_order() -> None:
    replies = [
        (0, {"bull:q:1": "r"}),
        (0, ["bull:q:2", "bull:q:3"]),
        ["bull:q:4", "bull:q:5"],
        (0, {"bull:q:6": "why"}),
    ]
    picked, cursor = _take([PROCESSED, PENDING, FAILED, IGNORED], replies, Cursor(), 10)
    assert [key for _, key in picked] == [f"bull:q:{n}" for n in range(1, 7)]
    assert [group for group, _ in picked] == [
        "processed",
        "pending",
        "pending",
        "failed",
        "failed",
        "ignored",
    ]
    assert cursor is None


def test_a_scan_that_returns_more_than_the_room_skips_what_was_shown() -> None:
    # A small set comes back whole from one SSCAN: the next page repeats it and skips 3.
    items = [f"bull:q:{n}" for n in range(5)]
    picked, cursor = _take([PENDING], [(0, items)], Cursor(PENDING), 3)
    assert [key for _, key in picked] == items[:3]
    assert cursor == Cursor(PENDING, 0, 3)

    picked, cursor = _take([PENDING], [(0, items)], cursor, 3)
    assert [key for _, key in picked] == items[3:]
    assert cursor is None


def test_the_skip_grows_on_a_scan_repeated_twice() -> None:
    items = [f"bull:q:{n}" for n in range(7)]
    picked, cursor = _take([PENDING], [(9, items)], Cursor(PENDING, 40, 2), 3)
    assert [key for _, key in picked] == items[2:5]
    assert cursor == Cursor(PENDING, 40, 5)


def test_an_unfinished_scan_continues_at_its_next_cursor() -> None:
    picked, cursor = _take([PROCESSED], [("17", {"bull:q:1": "r"})], Cursor(), 5)
    assert picked == [("processed", "bull:q:1")]
    assert cursor == Cursor(PROCESSED, 17, 0)


def test_an_unfinished_scan_stops_the_page_before_later_groups() -> None:
    replies = [(17, {"bull:q:1": "r"}), (0, ["bull:q:2"])]
    picked, cursor = _take([PROCESSED, PENDING], replies, Cursor(), 5)
    assert picked == [("processed", "bull:q:1")]
    assert cursor == Cursor(PROCESSED, 17)


def test_a_zset_page_continues_at_an_offset() -> None:
    members = [f"bull:q:{n}" for n in range(3)]
    picked, cursor = _take([FAILED], [members], Cursor(FAILED, 6), 3)
    assert [key for _, key in picked] == members
    # A full ZRANGE may have more after it: the next page reads from offset 9.
    assert cursor == Cursor(FAILED, 9)


def test_a_short_zset_range_is_the_end() -> None:
    picked, cursor = _take([FAILED], [["bull:q:1", "bull:q:2"]], Cursor(FAILED, 6), 3)
    assert len(picked) == 2
    assert cursor is None


def test_a_zset_cut_by_the_page_keeps_an_offset_not_a_skip() -> None:
    replies = [(0, ["bull:q:1", "bull:q:2"]), ["bull:q:3", "bull:q:4", "bull:q:5"]]
    picked, cursor = _take([PENDING, FAILED], replies, Cursor(), 3)
    assert [key for _, key in picked] == ["bull:q:1", "bull:q:2", "bull:q:3"]
    assert cursor == Cursor(FAILED, 1, 0)


def test_a_zset_ignores_a_skip_in_the_cursor() -> None:
    picked, cursor = _take([FAILED], [["bull:q:1"]], Cursor(FAILED, 4, 7), 3)
    assert picked == [("failed", "bull:q:1")]
    assert cursor is None


def test_a_page_full_at_a_groups_end_points_at_the_next_scanned_group() -> None:
    # Pending and failed are empty (not scanned): the next page starts at ignored.
    replies = [(0, {"bull:q:1": "r", "bull:q:2": "r"}), (0, {"bull:q:3": "why"})]
    picked, cursor = _take([PROCESSED], replies[:1], Cursor(), 2)
    assert len(picked) == 2
    assert cursor is None  # nothing scanned after processed: the last page

    picked, cursor = _take([PROCESSED, IGNORED], replies, Cursor(), 2)
    assert [key for _, key in picked] == ["bull:q:1", "bull:q:2"]
    assert cursor == Cursor(IGNORED, 0, 0)


def test_only_the_cursors_group_starts_mid_scan() -> None:
    # The cursor is in pending at scan position 8 having shown 1; failed starts from 0.
    replies = [(0, ["bull:q:a", "bull:q:b"]), ["bull:q:c", "bull:q:d", "bull:q:e"]]
    picked, cursor = _take([PENDING, FAILED], replies, Cursor(PENDING, 8, 1), 3)
    assert [key for _, key in picked] == ["bull:q:b", "bull:q:c", "bull:q:d"]
    assert cursor == Cursor(FAILED, 2)


def test_a_cursor_on_a_group_that_emptied_reads_the_next_from_its_start() -> None:
    # The cursor named pending, which is empty now (not scanned): failed starts at offset 0.
    picked, cursor = _take([FAILED], [["bull:q:1", "bull:q:2"]], Cursor(PENDING, 8, 3), 2)
    assert [key for _, key in picked] == ["bull:q:1", "bull:q:2"]
    assert cursor == Cursor(FAILED, 2)


def test_no_groups_means_an_empty_last_page() -> None:
    assert _take([], [], Cursor(), 20) == ([], None)
