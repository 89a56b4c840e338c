"""The pure helpers behind bench/pages.py's alternating rounds (the bench itself is no test)."""

import math

import pytest

from bench.pages import drift, in_turn, rehashing, round_sizes

# `DEBUG HTSTATS 0` from Redis 7.0.15, shortened: while rehashing, then after.
REHASHING = """[Dictionary HT]
Hash table 0 stats (main hash table):
 table size: 1048576
 number of elements: 327911
Hash table 1 stats (rehashing target):
 table size: 2097152
 number of elements: 772089
[Expires HT]
Hash table 0 stats (main hash table):
No stats available for empty dictionaries
"""
SETTLED = """[Dictionary HT]
Hash table 0 stats (main hash table):
 table size: 2097152
 number of elements: 1100000
[Expires HT]
Hash table 0 stats (main hash table):
No stats available for empty dictionaries
"""


def test_round_sizes_cut_the_requests_into_rounds() -> None:
    assert round_sizes(1000, 50) == [50] * 20
    assert round_sizes(120, 50) == [50, 50, 20]
    assert round_sizes(30, 50) == [30]
    assert round_sizes(0, 50) == []
    with pytest.raises(ValueError):
        round_sizes(100, 0)


def test_who_goes_first_swaps_every_round() -> None:
    orders = [in_turn(i, ["ours", "bull board"]) for i in range(4)]
    assert orders == [["ours", "bull board"], ["bull board", "ours"]] * 2
    assert [in_turn(i, ["ours"]) for i in range(2)] == [["ours"], ["ours"]]


def test_rehashing_reads_debug_htstats() -> None:
    assert rehashing(REHASHING) is True
    assert rehashing(SETTLED) is False
    assert rehashing("ERR unknown subcommand") is None


def test_drift_compares_the_later_rounds_with_the_earlier() -> None:
    assert drift([[1.0, 1.0], [1.0, 1.0]]) == 1.0
    assert drift([[2.0, 2.0], [2.0, 2.0], [1.0, 1.0], [1.0, 1.0]]) == 0.5
    assert math.isnan(drift([[1.0]]))
