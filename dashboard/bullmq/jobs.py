"""Turn a job's raw Redis hash into the job Node BullMQ's `Job.fromJSON` would build.

Pure functions, no I/O: the reader fetches, this module decodes.
"""

from __future__ import annotations

import json
from typing import Any

from dashboard.redis_client.replies import to_int

# Node BullMQ stores a few job options under short names (its optsDecodeMap).
_OPTS_DECODE = {
    "de": "deduplication",
    "fpof": "failParentOnFailure",
    "cpof": "continueParentOnFailure",
    "idof": "ignoreDependencyOnFailure",
    "kl": "keepLogs",
    "rdof": "removeDependencyOnFailure",
}

# The hash fields a job list row needs. `data` and `returnvalue` stay in Redis: a list of 50 jobs
# with 5 MB payloads must not move 250 MB to draw a table.
SUMMARY_FIELDS: tuple[str, ...] = (
    "name",
    "opts",
    "timestamp",
    "delay",
    "priority",
    "processedOn",
    "finishedOn",
    "atm",
    "ats",
    "progress",
    "failedReason",
    "parentKey",
)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# One decoder for every value: json.loads with an option builds a new one per call, which cost
# more than decoding a small value.
_DECODER = json.JSONDecoder(parse_constant=_not_json)


def json_or_text(raw: str | None, default: Any = None) -> Any:
    """A JSON value as Node's JSON.parse reads it; text JSON.parse would refuse stays text
    (NaN and Infinity included: they could not be answered as JSON again)."""
    if raw is None:
        return default
    try:
        return _DECODER.decode(raw)
    except ValueError:
        return raw


def _telemetry(decoded: dict[str, Any]) -> dict[str, Any]:
    """The `telemetry` option, made a dict if the stored one is not (Node would merge into it)."""
    telemetry = decoded.get("telemetry")
    if not isinstance(telemetry, dict):
        telemetry = decoded["telemetry"] = {}
    return telemetry


def decode_opts(raw: str | None) -> dict[str, Any]:
    opts = json_or_text(raw, {})
    if not isinstance(opts, dict):
        return {}
    decoded: dict[str, Any] = {}
    for key, value in opts.items():
        if key == "tm":
            _telemetry(decoded)["metadata"] = value
        elif key == "omc":
            _telemetry(decoded)["omitContext"] = value
        else:
            decoded[_OPTS_DECODE.get(key) or key] = value
    return decoded


def decode_stacktrace(raw: str | None) -> list[str]:
    traces = json_or_text(raw, [])
    return traces if isinstance(traces, list) else []


def max_attempts(opts: dict[str, Any]) -> int:
    """BullMQ treats a missing or zero `attempts` as one attempt."""
    return max(to_int(str(opts.get("attempts") or 1)) or 1, 1)


def summary(job_id: str, raw: dict[str, str | None]) -> dict[str, Any]:
    """A list row: everything but the payloads."""
    opts = decode_opts(raw.get("opts"))
    return {
        "id": job_id,
        "name": raw.get("name") or "",
        "opts": opts,
        "timestamp": to_int(raw.get("timestamp")),
        "delay": to_int(raw.get("delay")),
        "priority": to_int(raw.get("priority")),
        "processedOn": to_int(raw.get("processedOn"), None),
        "finishedOn": to_int(raw.get("finishedOn"), None),
        "attemptsMade": to_int(raw.get("atm")),
        "attemptsStarted": to_int(raw.get("ats")),
        "attempts": max_attempts(opts),
        "progress": json_or_text(raw.get("progress"), 0),
        "failedReason": raw.get("failedReason"),
        "parentKey": raw.get("parentKey"),
    }


# The payloads a page may show cut instead of decoding them whole.
PREVIEWED = ("data", "returnvalue")


def preview_json(value: Any, limit: int) -> str:
    """The first `limit` characters of the value as indented JSON, without writing the rest:
    the encoder yields pieces, and a page showing 64 KB of a 10 MB value stops there."""
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
    pieces, length = [], 0
    for piece in encoder.iterencode(value):
        pieces.append(piece)
        length += len(piece)
        if length > limit:
            break
    return "".join(pieces)[:limit]


def detail(
    job_id: str,
    raw: dict[str, str],
    state: str,
    logs: list[str],
    log_count: int,
    preview: int | None = None,
) -> dict[str, Any]:
    """One job in full, field names as Node BullMQ's Job has them. With `preview`, a data or
    return value stored longer than that is not decoded: it is None, and `previews` holds its
    first `preview` characters as stored (decoding 10 MB to show 64 KB of it cost ~100 ms of
    the event loop a view)."""
    previews = {
        field: raw[field][:preview]
        for field in PREVIEWED
        if preview is not None and len(raw.get(field) or "") > preview
    }
    opts = decode_opts(raw.get("opts"))
    return {
        "id": job_id,
        "name": raw.get("name") or "",
        "state": state,
        "data": None if "data" in previews else json_or_text(raw.get("data"), {}),
        "opts": opts,
        "progress": json_or_text(raw.get("progress"), 0),
        "delay": to_int(raw.get("delay")),
        "priority": to_int(raw.get("priority")),
        "timestamp": to_int(raw.get("timestamp")),
        "processedOn": to_int(raw.get("processedOn"), None),
        "finishedOn": to_int(raw.get("finishedOn"), None),
        "attemptsMade": to_int(raw.get("attemptsMade") or raw.get("atm")),
        "attemptsStarted": to_int(raw.get("ats")),
        "stalledCounter": to_int(raw.get("stc")),
        "returnvalue": None if "returnvalue" in previews else json_or_text(raw.get("returnvalue")),
        "failedReason": raw.get("failedReason"),
        "stacktrace": decode_stacktrace(raw.get("stacktrace")),
        "parentKey": raw.get("parentKey"),
        "parent": json_or_text(raw.get("parent")),
        "repeatJobKey": raw.get("rjk"),
        "deduplicationId": raw.get("deid"),
        "processedBy": raw.get("pb"),
        "attempts": max_attempts(opts),
        "logs": logs,
        "logCount": log_count,
        "storedBytes": {
            field: len((raw.get(field) or "").encode())
            for field in ("data", "returnvalue", "opts", "stacktrace", "parent")
        },
        # Only for a page that asked: the API answers values whole, as before.
        **({"previews": previews} if preview is not None else {}),
    }
