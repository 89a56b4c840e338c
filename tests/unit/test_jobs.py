"""A job's raw hash decoded as Node BullMQ's `Job.fromJSON` does (job.js: optsFromJSON with its
optsDecodeMap, getTraces, parseInt of the numbers, `attemptsMade || atm`)."""

import json

import pytest

from dashboard.bullmq.jobs import (
    SUMMARY_FIELDS,
    decode_opts,
    decode_stacktrace,
    detail,
    json_or_text,
    max_attempts,
    summary,
    to_int,
)


def test_json_or_text() -> None:
    assert json_or_text('{"a": [1, 2]}') == {"a": [1, 2]}
    assert json_or_text("12") == 12
    assert json_or_text('"s"') == "s"
    assert json_or_text("null", "d") is None
    assert json_or_text("not json {") == "not json {"
    assert json_or_text("") == ""
    assert json_or_text(None) is None
    assert json_or_text(None, {}) == {}


@pytest.mark.parametrize(
    ("raw", "default", "expected"),
    [
        ("42", 0, 42),
        ("-3", 0, -3),
        ("1700000000000", 0, 1_700_000_000_000),
        ("12.9", 0, 12),  # Lua writes some numbers as floats; parseInt keeps the integer part
        ("1e3", 0, 1000),
        (None, 0, 0),
        ("", 0, 0),
        (None, None, None),
        ("", None, None),
        ("abc", 7, 7),
        ("nan", 5, 5),
    ],
)
def test_to_int(raw: str | None, default: int | None, expected: int | None) -> None:
    assert to_int(raw, default) == expected


def test_decode_opts_renames_bullmqs_short_keys() -> None:
    raw = json.dumps(
        {
            "attempts": 3,
            "de": {"id": "d1"},
            "fpof": True,
            "cpof": False,
            "idof": True,
            "kl": {"count": 5},
            "rdof": True,
            "backoff": {"type": "fixed", "delay": 10},
        }
    )
    assert decode_opts(raw) == {
        "attempts": 3,
        "deduplication": {"id": "d1"},
        "failParentOnFailure": True,
        "continueParentOnFailure": False,
        "ignoreDependencyOnFailure": True,
        "keepLogs": {"count": 5},
        "removeDependencyOnFailure": True,
        "backoff": {"type": "fixed", "delay": 10},
    }


def test_decode_opts_gathers_telemetry_from_tm_and_omc() -> None:
    assert decode_opts('{"tm": "ctx", "omc": true}') == {
        "telemetry": {"metadata": "ctx", "omitContext": True}
    }
    assert decode_opts('{"omc": false}') == {"telemetry": {"omitContext": False}}
    assert decode_opts('{"tm": {"traceparent": "00-ab"}}') == {
        "telemetry": {"metadata": {"traceparent": "00-ab"}}
    }


@pytest.mark.parametrize("raw", [None, "", "[1, 2]", '"text"', "5", "not json"])
def test_decode_opts_of_anything_but_an_object_is_empty(raw: str | None) -> None:
    assert decode_opts(raw) == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('["Error: x\\n  at f", "Error: y"]', ["Error: x\n  at f", "Error: y"]),
        ("[]", []),
        (None, []),
        ("", []),
        ("not json", []),
        ('{"a": 1}', []),
        ('"one trace"', []),
    ],
)
def test_decode_stacktrace_is_a_list_or_empty(raw: str | None, expected: list[str]) -> None:
    assert decode_stacktrace(raw) == expected


@pytest.mark.parametrize(
    ("opts", "expected"),
    [({}, 1), ({"attempts": 0}, 1), ({"attempts": 4}, 4), ({"attempts": "3"}, 3)],
)
def test_max_attempts(opts: dict, expected: int) -> None:
    assert max_attempts(opts) == expected


# A completed child job as Node BullMQ 5 writes it (addJob, moveToFinished, updateProgress).
NODE_HASH = {
    "name": "send",
    "data": '{"to":"a@b.c","n":1}',
    "opts": '{"attempts":3,"delay":0,"kl":{"count":10},"tm":"m","fpof":true}',
    "timestamp": "1700000000000",
    "delay": "0",
    "priority": "0",
    "processedOn": "1700000000100",
    "finishedOn": "1700000000200",
    "atm": "2",
    "ats": "2",
    "stc": "1",
    "progress": '{"pct":50}',
    "returnvalue": '{"ok":true}',
    "stacktrace": '["Error: first try"]',
    "failedReason": "first try",
    "parentKey": "bull:parents:p1",
    "parent": '{"id":"p1","queueKey":"bull:parents"}',
    "rjk": "repeat:abc",
    "deid": "dedup-1",
    "pb": "worker-1:3",
}


def test_detail_is_nodes_job_from_json() -> None:
    job = detail("7", NODE_HASH, "completed", ["log line"], 3)
    assert job == {
        "id": "7",
        "name": "send",
        "state": "completed",
        "data": {"to": "a@b.c", "n": 1},
        "opts": {
            "attempts": 3,
            "delay": 0,
            "keepLogs": {"count": 10},
            "telemetry": {"metadata": "m"},
            "failParentOnFailure": True,
        },
        "progress": {"pct": 50},
        "delay": 0,
        "priority": 0,
        "timestamp": 1_700_000_000_000,
        "processedOn": 1_700_000_000_100,
        "finishedOn": 1_700_000_000_200,
        "attemptsMade": 2,
        "attemptsStarted": 2,
        "stalledCounter": 1,
        "returnvalue": {"ok": True},
        "failedReason": "first try",
        "stacktrace": ["Error: first try"],
        "parentKey": "bull:parents:p1",
        "parent": {"id": "p1", "queueKey": "bull:parents"},
        "repeatJobKey": "repeat:abc",
        "deduplicationId": "dedup-1",
        "processedBy": "worker-1:3",
        "attempts": 3,
        "logs": ["log line"],
        "logCount": 3,
        "storedBytes": {
            "data": len(NODE_HASH["data"]),
            "returnvalue": len(NODE_HASH["returnvalue"]),
            "opts": len(NODE_HASH["opts"]),
            "stacktrace": len(NODE_HASH["stacktrace"]),
            "parent": len(NODE_HASH["parent"]),
        },
    }


def test_detail_of_a_bare_hash_has_nodes_defaults() -> None:
    # fromJSON: data '{}', progress 0, attempts counters 0, stacktrace [], no parent.
    job = detail("1", {"name": "x"}, "waiting", [], 0)
    assert job["data"] == {}
    assert job["opts"] == {}
    assert job["progress"] == 0
    assert (job["attemptsMade"], job["attemptsStarted"], job["stalledCounter"]) == (0, 0, 0)
    assert job["processedOn"] is None and job["finishedOn"] is None
    assert job["returnvalue"] is None
    assert job["stacktrace"] == []
    assert job["parentKey"] is None and job["parent"] is None
    assert job["attempts"] == 1
    assert job["storedBytes"] == dict.fromkeys(
        ("data", "returnvalue", "opts", "stacktrace", "parent"), 0
    )


def test_detail_prefers_the_legacy_attempts_made_field() -> None:
    # Jobs written by BullMQ before `atm` keep `attemptsMade`; Node reads it first.
    assert detail("1", {"attemptsMade": "4", "atm": "1"}, "failed", [], 0)["attemptsMade"] == 4
    assert detail("1", {"atm": "1"}, "failed", [], 0)["attemptsMade"] == 1


def test_detail_counts_stored_bytes_in_utf8() -> None:
    job = detail("1", {"data": '{"s":"é"}'}, "waiting", [], 0)
    assert job["storedBytes"]["data"] == len('{"s":"é"}') + 1


def test_summary_leaves_the_payloads_out() -> None:
    row = summary("7", {field: NODE_HASH.get(field) for field in SUMMARY_FIELDS})
    assert "data" not in SUMMARY_FIELDS and "returnvalue" not in SUMMARY_FIELDS
    assert row == {
        "id": "7",
        "name": "send",
        "opts": decode_opts(NODE_HASH["opts"]),
        "timestamp": 1_700_000_000_000,
        "delay": 0,
        "priority": 0,
        "processedOn": 1_700_000_000_100,
        "finishedOn": 1_700_000_000_200,
        "attemptsMade": 2,
        "attemptsStarted": 2,
        "attempts": 3,
        "progress": {"pct": 50},
        "failedReason": "first try",
        "parentKey": "bull:parents:p1",
    }


def test_summary_of_a_missing_hash_field_set() -> None:
    row = summary("9", {})
    assert row["name"] == ""
    assert (row["timestamp"], row["processedOn"], row["progress"], row["attempts"]) == (
        0,
        None,
        0,
        1,
    )


def test_nan_and_infinity_stay_text_as_node_refuses_them() -> None:
    assert json_or_text("NaN") == "NaN"
    assert json_or_text('{"a": Infinity}') == '{"a": Infinity}'
    assert json_or_text('{"a": 1}') == {"a": 1}


def test_a_stored_telemetry_that_is_not_an_object_does_not_break_the_job() -> None:
    assert decode_opts('{"telemetry": "x", "tm": 1}')["telemetry"] == {"metadata": 1}


def test_a_timestamp_past_any_float_reads_as_missing() -> None:
    assert to_int("1e999") == 0
    assert to_int("inf", None) is None
