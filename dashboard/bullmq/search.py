"""Job search, bounded per request: by id across every queue, and by name or text in one state.

Both are read-only Lua scripts, so a request is one round trip whatever it finds:
- By id: one script call per queue, all in one pipeline. A queue without the job costs 2
  executed commands (the script and one HMGET); a hit adds the state probes of Node BullMQ's
  getState, stopping at the first that answers.
- By name or text: one script call per slice. It reads the state's size, one range of at most
  `budget` ids, and one HMGET per id, and stops early once it holds a page of matches: at most
  budget + 3 executed commands. Nothing walks the keyspace, and only one slice of ids is ever
  held, in the script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dashboard.bullmq import jobs
from dashboard.bullmq.keys import STATE_STORAGE, QueueKeys, is_job_id
from dashboard.redact import Redactor
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import execute
from dashboard.redis_client.lua import ReadScript, run

DEFAULT_BUDGET = 1_000
MAX_BUDGET = 5_000

# KEYS: the job hash, then completed failed delayed prioritized (sorted sets) and active wait
# paused waiting-children, then the repeat set. ARGV: the job id. Returns {} or {name, state,
# executed commands}.
_FIND_ID = ReadScript(
    """
local id = ARGV[1]
local calls = 1
-- `repeat:<id>` is a scheduler's hash, not a job's, when the repeat set holds <id>.
if string.sub(id, 1, 7) == "repeat:" then
  calls = 2
  if redis.call("ZSCORE", KEYS[10], string.sub(id, 8)) then return {} end
end
local found = redis.pcall("HMGET", KEYS[1], "name", "timestamp")
if found.err or (not found[1] and not found[2]) then return {} end
local name = found[1] or ""
local sets = {"completed", "failed", "delayed", "prioritized"}
for i, state in ipairs(sets) do
  calls = calls + 1
  if redis.call("ZSCORE", KEYS[i + 1], id) then return {name, state, calls} end
end
calls = calls + 1
if redis.call("LPOS", KEYS[6], id) then return {name, "active", calls} end
for i = 7, 8 do
  calls = calls + 1
  if redis.call("LPOS", KEYS[i], id) then return {name, "waiting", calls} end
end
calls = calls + 1
if redis.call("ZSCORE", KEYS[9], id) then return {name, "waiting-children", calls} end
return {name, "unknown", calls}
"""
)

# KEYS: the state's keys, walked one after the other. ARGV: kind (list|zset), job key prefix,
# start offset, budget, page of matches, name text, data text, then the fields to return for a
# match. Names and texts match case-insensitively, anywhere in the value. Returns {total,
# scanned, executed commands, id, where it matched, fields..., id, where, fields..., ...}.
_SEARCH = ReadScript(
    """
local kind, prefix = ARGV[1], ARGV[2]
local offset, budget, page = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local name, text = string.lower(ARGV[6]), string.lower(ARGV[7])
local fields = {"name", "data", "returnvalue", "failedReason"}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
local calls, total, scanned, matches = 0, 0, 0, 0
local out = {}
local function has(value, needle)
  return value and string.find(string.lower(value), needle, 1, true) ~= nil
end
for _, key in ipairs(KEYS) do
  calls = calls + 1
  local size
  if kind == "zset" then size = redis.call("ZCARD", key) else size = redis.call("LLEN", key) end
  local start = offset - total
  total = total + size
  local want = budget - scanned
  if start < size and want > 0 and matches < page then
    if start < 0 then start = 0 end
    local ids
    calls = calls + 1
    if kind == "zset" then
      ids = redis.call("ZREVRANGE", key, start, start + want - 1)
    else
      ids = redis.call("LRANGE", key, start, start + want - 1)
    end
    for _, id in ipairs(ids) do
      if matches >= page then break end
      scanned = scanned + 1
      calls = calls + 1
      -- pcall: an id that spells another kind of key (a hostile or corrupt member) is no job.
      local v = redis.pcall("HMGET", prefix .. id, unpack(fields))
      local ok = not v.err and (v[1] or v[2])
      if ok and name ~= "" then ok = has(v[1], name) end
      if ok and text ~= "" then ok = has(v[2], text) or has(v[3], text) or has(v[4], text) end
      if ok then
        matches = matches + 1
        -- Where it matched, so the page can say so: the fields that hold the texts looked for.
        local where = {}
        if name ~= "" then where[#where + 1] = "name" end
        if text ~= "" then
          if has(v[2], text) then where[#where + 1] = "data" end
          if has(v[3], text) then where[#where + 1] = "returnvalue" end
          if has(v[4], text) then where[#where + 1] = "failedReason" end
        end
        out[#out + 1] = id
        out[#out + 1] = table.concat(where, " ")
        out[#out + 1] = v[1]
        out[#out + 1] = v[4]
        for i = 5, #fields do out[#out + 1] = v[i] end
      end
    end
  end
end
local head = {total, scanned, calls}
for _, value in ipairs(out) do head[#head + 1] = value end
return head
"""
)

# The summary fields the script reads beyond the four it matches on.
_ROW_FIELDS = tuple(f for f in jobs.SUMMARY_FIELDS if f not in ("name", "failedReason"))
# What it sends back for each match, after the id.
_REPLY_FIELDS = ("name", "failedReason", *_ROW_FIELDS)


@dataclass(frozen=True)
class IdHit:
    queue: str
    id: str
    state: str
    name: str

    def as_json(self) -> dict[str, str]:
        return {"queue": self.queue, "id": self.id, "state": self.state, "name": self.name}


@dataclass(frozen=True)
class SearchSlice:
    jobs: list[dict[str, Any]]
    offset: int
    scanned: int
    total: int
    commands: int
    page_full: bool
    # Where each job matched, by id: "name", "data", "returnvalue", "failedReason" (the page says
    # it; the API's rows keep Node's job fields only).
    where: dict[str, list[str]] = field(default_factory=dict)

    @property
    def searched(self) -> int:
        """Jobs searched so far, this slice and those before it."""
        return min(self.offset + self.scanned, self.total)

    @property
    def next_offset(self) -> int | None:
        """Where the next slice starts, or None when this one reached the end of the state."""
        end = self.offset + self.scanned
        return end if end < self.total else None

    def as_json(self) -> dict[str, Any]:
        cursor = self.next_offset
        return {
            "jobs": self.jobs,
            "cursor": None if cursor is None else str(cursor),
            "scanned": self.scanned,
            "commands": self.commands,
            "searched": self.searched,
            "total": self.total,
        }


async def find_id(redis: Client, prefix: str, queues: list[str], job_id: str) -> list[IdHit]:
    """Every queue holding a job with this id, with its state and name, in one round trip."""
    if not queues or not is_job_id(job_id):
        return []

    calls = []
    for queue in queues:
        keys = QueueKeys(prefix, queue)
        calls.append(((*keys.probe_keys(job_id), keys.schedulers), (job_id,)))
    replies = await run(redis, _FIND_ID, calls)
    return [
        IdHit(queue, job_id, reply[1], reply[0])
        for queue, reply in zip(queues, replies, strict=True)
        if reply
    ]


async def search_state(
    redis: Client,
    prefix: str,
    queue: str,
    state: str,
    *,
    name: str = "",
    text: str = "",
    offset: int = 0,
    budget: int = DEFAULT_BUDGET,
    page: int = 50,
    redactor: Redactor | None = None,
) -> SearchSlice:
    """One slice of a state, in the order its page lists it, matched by name and/or text."""
    keys = QueueKeys(prefix, queue)
    kind = STATE_STORAGE[state][1]
    args = (kind, keys.job_prefix, offset, budget, page, name, text, *_ROW_FIELDS)

    (reply,) = await run(redis, _SEARCH, [(keys.search_keys(state), args)])
    total, scanned, calls, *flat = reply
    width = 2 + len(_REPLY_FIELDS)
    rows = []
    where: dict[str, list[str]] = {}
    for i in range(0, len(flat), width):
        job_id, matched, *values = flat[i : i + width]
        raw = dict(zip(_REPLY_FIELDS, values, strict=True))
        rows.append(jobs.summary(job_id, raw))
        where[job_id] = matched.split()
    commands = int(calls) + 1  # the EVALSHA itself
    page_full = len(rows) >= page
    if text and rows and redactor is not None and redactor.active:
        commands += len(rows)  # one HMGET per match, to check it again
        rows, where = await _shown_matches(redis, keys, rows, text, redactor, name)
    return SearchSlice(
        jobs=rows,
        where=where,
        offset=offset,
        scanned=int(scanned),
        total=int(total),
        commands=commands,
        page_full=page_full,
    )


async def _shown_matches(
    redis: Client,
    keys: QueueKeys,
    rows: list[dict[str, Any]],
    text: str,
    redactor: Redactor,
    name: str,
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Only the matches whose text is still there once redacted, and where it is: a search must
    not tell what a redacted field holds. One more HMGET per match, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for row in rows:
        pipe.hmget(keys.job(row["id"]), ["data", "returnvalue", "failedReason"])
    needle = text.lower()
    kept = []
    where: dict[str, list[str]] = {}
    for row, (data, returnvalue, reason) in zip(rows, await execute(pipe), strict=True):
        shown = redactor.job(
            {**row, "data": jobs.json_or_text(data), "returnvalue": jobs.json_or_text(returnvalue)}
        )
        values = {
            "data": shown.get("data"),
            "returnvalue": shown.get("returnvalue"),
            "failedReason": shown.get("failedReason", reason),
        }
        found = [
            part
            for part, value in values.items()
            if value is not None and needle in _compact(value).lower()
        ]
        if found:
            kept.append(row)
            where[row["id"]] = (["name"] if name else []) + found
    return kept, where


def _compact(value: Any) -> str:
    """A value as BullMQ stores it (JSON.stringify's spacing), so the same texts match."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
