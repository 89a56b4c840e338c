"""The pieces route modules describe their JSON routes with: parameters, bodies, errors.

Each route module describes its own JSON routes next to them, in a module-level `openapi` dict
(path relative to the base path → OpenAPI path item); routes outside the base path (the cron
endpoint) go in a second dict, `openapi_outside_base`. document.py puts them together for every
module of the route registry (dashboard/web/registry.py), and CI fuzzes every route listed
(tests/integration/test_fuzz.py).
"""

from __future__ import annotations

from typing import Any

# `{"error": "<one sentence>", "status": n}`: the only shape an error answer takes.
ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "additionalProperties": False,
    "properties": {"error": {"type": "string", "minLength": 1}, "status": {"type": "integer"}},
}
ERROR_TEXT = {
    400: "A parameter is wrong; the sentence says which.",
    401: "No valid credentials.",
    403: "Refused: the caller's role on the queue is too low for this (the sentence names the"
    " role needed), read-only mode, CSRF, or a cross-site request.",
    404: "No such queue, job or Redis connection (a queue outside the caller's grants does not"
    " exist for them).",
    409: "The job is in the wrong state for this action, or the queue is on several Redis "
    "connections and none is named.",
    413: "The request body is too large.",
    414: "The URL is too long.",
    429: "Too many calls, or too many wrong secrets, from this client.",
    431: "The request headers are too large.",
    500: "No REDIS_URL is configured (the cron endpoint only).",
    503: "Redis is unreachable, refused the password, or every connection stayed busy.",
}
# Every JSON route may answer these, whatever it does.
COMMON_ERRORS = (401, 413, 414, 429, 431, 503)

QUEUE = {
    "name": "queue",
    "in": "path",
    "required": True,
    "description": "The queue's name, percent-encoded as one path segment (`/` as `%2F`).",
    "schema": {"type": "string", "minLength": 1},
}
CONNECTION = {
    "name": "connection",
    "in": "query",
    "required": False,
    "description": "With several Redis connections, the one to use (`GET api/connections` lists"
    " them); a queue on one connection only needs none.",
    "schema": {"type": "string", "minLength": 1},
}
JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "description": "The job's id, percent-encoded as one path segment (`/` as `%2F`).",
    "schema": {"type": "string", "minLength": 1},
}


def json_body(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Any]:
    """The error answers a route gives besides COMMON_ERRORS, all with the ERROR body."""
    return {
        str(status): json_body({"$ref": "#/components/schemas/Error"}, ERROR_TEXT[status])
        for status in sorted({*statuses, *COMMON_ERRORS})
    }


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


# What every action answers: `{"ok", "message", "count"}`; an action that makes a job adds its id.
OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ok", "message", "count"],
    "properties": {
        "ok": {"type": "boolean"},
        "message": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
    },
}
JOB_OUTCOME_SCHEMA: dict[str, Any] = {
    **OUTCOME_SCHEMA,
    "required": ["ok", "message", "count", "id"],
    "properties": {**OUTCOME_SCHEMA["properties"], "id": {"type": "string"}},
}
OUTCOME = json_body(OUTCOME_SCHEMA)
