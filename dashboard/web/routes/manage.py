"""Routes that add and edit jobs and change whole queues, for scripts (JSON) and htmx (forms).

Every write goes through dashboard/writes/manage.py. A body is JSON for the API and a form for the
pages; both are parsed here, and a JSON error becomes a 400 naming the line and column.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.text import quoted
from dashboard.web import params
from dashboard.web.board import Board
from dashboard.web.lookup import (
    answer,
    board_of,
    job_id_of,
    queue_action,
)
from dashboard.web.openapi.parts import (
    JOB_ID,
    JOB_OUTCOME_SCHEMA,
    OUTCOME_SCHEMA,
    QUEUE,
    errors,
    json_body,
    query,
)
from dashboard.web.paths import path_value, root_of
from dashboard.writes.actions import Outcome
from dashboard.writes.manage import MAX_PRIORITY, MAX_SAFE_INTEGER, Manager


def manager(board: Board) -> Manager:
    return Manager(board.actions)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str, what: str) -> Any:
    """A JSON value, or a 400 that says where the text stops being JSON, or which field holds
    what BullMQ cannot store: a number past a double's range (`1e999` reads as infinity, which
    the bullmq package writes as `Infinity`, not JSON) or a lone surrogate (`"\\ud800"`, which
    is no UTF-8 text)."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise params.bad_request(
            f"{what} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
        ) from None
    except ValueError as err:
        raise params.bad_request(f"{what} is not valid JSON: {err}.") from None
    except RecursionError:
        raise params.bad_request(f"{what} is nested too deeply to read.") from None
    try:
        # At C speed, as the bullmq package will write it; only a failure walks the value.
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except ValueError:  # UnicodeEncodeError is one
        raise params.bad_request(f"{what} cannot be stored: {_unstorable(value)}.") from None
    return value


def _unstorable(value: Any) -> str:
    """The first place in a parsed JSON value that cannot be stored, and why, e.g.
    `data.sizes[2] is a number too large to store (it reads as infinity)`."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        where = path.lstrip(".") or "the value"
        if isinstance(item, float) and not math.isfinite(item):
            return f"{where[:100]} is a number too large to store (it reads as infinity)"
        if isinstance(item, str) and not _is_utf8(item):
            return f"{where[:100]} holds a lone surrogate, which is not UTF-8 text"
        if isinstance(item, dict):
            for key, child in reversed(item.items()):
                if not _is_utf8(key):
                    return f"a key in {where[:100]} holds a lone surrogate, which is not UTF-8 text"
                stack.append((f"{path}.{key}", child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(item))))
    return "it holds a value that is not JSON"


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _utf8(body: bytes, what: str) -> str:
    """The body as text: bytes that are not UTF-8 are refused, not stored as U+FFFD."""
    try:
        return body.decode()
    except UnicodeDecodeError as err:
        raise params.bad_request(
            f"{what} is not UTF-8 text: byte {err.start:,} cannot be read."
        ) from None


async def _json_body(request: Request) -> Any:
    # Body size is bounded before this by web/limits.py (1 MB for JSON).
    _require_json(request)
    return parse_json(_utf8(await request.body(), "The body"), "The body")


def _require_json(request: Request) -> None:
    """A JSON body is labelled so: `text/plain` is what a cross-site HTML form can send without
    asking first, and limits.py gives anything but `application/json` the 4 KB form limit."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        given = repr(content_type[:60]) if content_type else "none"
        raise params.bad_request(
            f"Send the body as JSON with Content-Type: application/json; got {given}."
        )


async def _fields(request: Request) -> dict[str, str] | None:
    """A page's form fields, or None for an API call. Small forms come urlencoded; forms with
    job data come from htmx as a flat JSON object of strings (static/forms.js, "json-form")."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        text = _utf8(await request.body(), "The form")
        try:
            # Strict: a percent-encoded byte that is not UTF-8 (%FF) is refused, not made U+FFFD.
            fields = parse_qs(text, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise params.bad_request(
                "The form holds a %-encoded byte that is not UTF-8 text."
            ) from None
        return {key: values[-1] for key, values in fields.items()}
    if "hx-request" not in request.headers:
        return None
    body = await _json_body(request)
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        raise params.bad_request("The form's fields did not arrive as text.")
    return body


def _form_number(form: dict[str, str], name: str) -> int | None:
    raw = form.get(name, "").strip()
    return params.whole_number(raw, name, 0, params.MAX_INDEX) if raw else None


def _form_keep(form: dict[str, str], name: str) -> bool | int | None:
    """A form's removeOnComplete/removeOnFail: blank keeps BullMQ's default, a number keeps
    that many, "true"/"false" as they say."""
    raw = form.get(name, "").strip().lower()
    if raw in ("", "default"):
        return None
    if raw in ("true", "false"):
        return raw == "true"
    return _form_number(form, name)


def _form_options(form: dict[str, str]) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "delay": _form_number(form, "delay"),
        "priority": _form_number(form, "priority"),
        "attempts": _form_number(form, "attempts"),
        "jobId": form.get("jobId", "").strip() or None,
        "removeOnComplete": _form_keep(form, "removeOnComplete"),
        "removeOnFail": _form_keep(form, "removeOnFail"),
    }
    kind = form.get("backoffType", "").strip()
    if kind:
        opts["backoff"] = {"type": kind, "delay": _form_number(form, "backoffDelay") or 0}
    return {key: value for key, value in opts.items() if value is not None}


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "0").strip().lower()
    if raw not in ("0", "1", "true", "false", ""):
        raise params.bad_request(f"{name} must be 1 or 0; got {quoted(raw)}.")
    return raw in ("1", "true")


# What each number may be. 0 is the explicit way to remove a priority or a limit; blank is
# refused, never read as 0. A duration is checked by the Manager, only when a limit is set.
_RANGES = {
    "priority": (0, MAX_PRIORITY),
    "delay": (0, MAX_SAFE_INTEGER),
    "concurrency": (0, MAX_SAFE_INTEGER),
    "max": (0, MAX_SAFE_INTEGER),
    "duration": (0, MAX_SAFE_INTEGER),
}


async def _numbers(request: Request, *names: str, optional: str = "") -> list[Any]:
    """Numbers from the query string, a form, or a JSON body {"<name>": n, ...}. Each is
    required and may not be blank, but `optional` may be left out (None)."""
    fields: Any = request.query_params
    if not any(name in fields for name in names):
        fields = await _fields(request)
    if fields is None:
        body = await _json_body(request)
        needed = [name for name in names if name != optional]
        if not isinstance(body, dict) or not all(name in body for name in needed):
            wanted = ", ".join(f'"{name}": n' for name in names)
            raise params.bad_request(f"Send {' and '.join(names)} in the query or as {{{wanted}}}.")
        return [body.get(name) for name in names]
    return [
        None
        if name == optional and name not in fields
        else params.required_whole(fields.get(name), name, *_RANGES[name])
        for name in names
    ]


@queue_action
async def add_job(request: Request, board: Board, queue: str) -> Outcome:
    form = await _fields(request)
    if form is not None:
        data = parse_json(form.get("data", "") or "{}", "The data")
        return await manager(board).add_job(queue, form.get("name", ""), data, _form_options(form))
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise params.bad_request('The body must be a JSON object: {"name", "data", "opts"}.')
    return await manager(board).add_job(queue, body.get("name"), body.get("data"), body.get("opts"))


@queue_action
async def duplicate_job(request: Request, board: Board, queue: str) -> Outcome:
    return await manager(board).duplicate_job(queue, job_id_of(request))


@queue_action
async def update_data(request: Request, board: Board, queue: str) -> Outcome:
    form = await _fields(request)
    if form is not None:
        data = parse_json(form.get("data", ""), "The data")
    else:
        data = await _json_body(request)
    return await manager(board).update_data(queue, job_id_of(request), data)


@queue_action
async def change_priority(request: Request, board: Board, queue: str) -> Outcome:
    [priority] = await _numbers(request, "priority")
    return await manager(board).change_priority(queue, job_id_of(request), priority)


@queue_action
async def change_delay(request: Request, board: Board, queue: str) -> Outcome:
    [delay] = await _numbers(request, "delay")
    return await manager(board).change_delay(queue, job_id_of(request), delay)


@queue_action
async def empty(request: Request, board: Board, queue: str) -> Outcome:
    return await manager(board).empty(queue, _flag(request, "delayed"))


@queue_action
async def _obliterate(request: Request, board: Board, queue: str) -> Outcome:
    confirm = request.query_params.get("confirm", "")
    outcome = await manager(board).obliterate(queue, confirm, _flag(request, "force"))
    board.catalog.forget(queue)
    return outcome


async def obliterate(request: Request) -> Response:
    """The queue's pages are gone with it: a page that asked goes on to the overview."""
    response = await _obliterate(request)
    if response.status_code == 200 and "hx-request" in request.headers:
        del response.headers["HX-Trigger"]  # nothing is left to refresh in place
        # The overview says what went, as the queue page does after a removal.
        gone = urlencode({"obliterated": path_value(request.path_params["queue"])})
        response.headers["HX-Location"] = f"{root_of(request.scope)}/?{gone}"
    return response


@queue_action
async def set_concurrency(request: Request, board: Board, queue: str) -> Outcome:
    [concurrency] = await _numbers(request, "concurrency")
    return await manager(board).set_concurrency(queue, concurrency)


@queue_action
async def set_rate_limit(request: Request, board: Board, queue: str) -> Outcome:
    max_jobs, duration = await _numbers(request, "max", "duration", optional="duration")
    return await manager(board).set_rate_limit(queue, max_jobs, duration)


async def _all_queues(request: Request, resume: bool) -> Response:
    board = board_of(request)
    names = await board.catalog.names()
    run = manager(board).resume_all if resume else manager(board).pause_all
    return await answer(request, run(names))


async def pause_all(request: Request) -> Response:
    return await _all_queues(request, resume=False)


async def resume_all(request: Request) -> Response:
    return await _all_queues(request, resume=True)


routes = [
    Route("/api/queues/{queue}/jobs", add_job, methods=["POST"], name="add_job"),
    Route(
        "/api/queues/{queue}/jobs/{job_id}/data", update_data, methods=["PUT"], name="update_data"
    ),
    Route(
        "/api/queues/{queue}/jobs/{job_id}/duplicate",
        duplicate_job,
        methods=["POST"],
        name="duplicate_job",
    ),
    Route(
        "/api/queues/{queue}/jobs/{job_id}/priority",
        change_priority,
        methods=["POST"],
        name="change_priority",
    ),
    Route(
        "/api/queues/{queue}/jobs/{job_id}/delay",
        change_delay,
        methods=["POST"],
        name="change_delay",
    ),
    Route("/api/queues/{queue}/empty", empty, methods=["POST"], name="empty"),
    Route("/api/queues/{queue}", obliterate, methods=["DELETE"], name="obliterate"),
    Route(
        "/api/queues/{queue}/concurrency", set_concurrency, methods=["POST"], name="set_concurrency"
    ),
    Route(
        "/api/queues/{queue}/rate-limit", set_rate_limit, methods=["POST"], name="set_rate_limit"
    ),
    Route("/api/pause-all", pause_all, methods=["POST"], name="pause_all"),
    Route("/api/resume-all", resume_all, methods=["POST"], name="resume_all"),
]

_WHOLE = {"type": "integer", "minimum": 0}
_OPTIONS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "delay": _WHOLE,
        "priority": {"type": "integer", "minimum": 0, "maximum": MAX_PRIORITY},
        "attempts": _WHOLE,
        "backoff": {},
        "jobId": {"type": "string", "minLength": 1},
        "removeOnComplete": {},
        "removeOnFail": {},
        "lifo": {"type": "boolean"},
    },
}


def _op(summary: str, parameters: list, *statuses: int, answer: dict = OUTCOME_SCHEMA,
        body: dict | None = None) -> dict:  # fmt: skip
    operation: dict = {
        "summary": summary,
        "parameters": parameters,
        "responses": {"200": json_body(answer), **errors(403, *statuses)},
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


_FLAG = {"type": "integer", "enum": [0, 1]}
openapi = {
    "/api/queues/{queue}/jobs": {
        "post": _op(
            "Adds a job through bullmq's Queue.add; answers its id.",
            [QUEUE],
            400,
            404,
            409,
            answer=JOB_OUTCOME_SCHEMA,
            body={
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "data": {}, "opts": _OPTIONS},
            },
        )
    },
    "/api/queues/{queue}/jobs/{job_id}/data": {
        "put": _op(
            "Replaces the job's data (the body).",
            [QUEUE, JOB_ID],
            400,
            404,
            409,
            answer=JOB_OUTCOME_SCHEMA,
            body={},
        )
    },
    "/api/queues/{queue}/jobs/{job_id}/duplicate": {
        "post": _op("Adds a copy of the job.", [QUEUE, JOB_ID], 400, 404, answer=JOB_OUTCOME_SCHEMA)
    },
    "/api/queues/{queue}/jobs/{job_id}/priority": {
        "post": _op(
            "Changes a waiting or prioritized job's priority (0 = none).",
            [QUEUE, JOB_ID, query("priority", _WHOLE, "The new priority.")],
            400,
            404,
            409,
            answer=JOB_OUTCOME_SCHEMA,
        )
    },
    "/api/queues/{queue}/jobs/{job_id}/delay": {
        "post": _op(
            "A delayed job runs this many ms from now.",
            [QUEUE, JOB_ID, query("delay", _WHOLE, "Milliseconds from now.")],
            400,
            404,
            409,
            answer=JOB_OUTCOME_SCHEMA,
        )
    },
    "/api/queues/{queue}/empty": {
        "post": _op(
            "Removes waiting and prioritized jobs (BullMQ's drain), and delayed ones with 1.",
            [QUEUE, query("delayed", _FLAG, "1: delayed jobs too.")],
            400,
            404,
        )
    },
    "/api/queues/{queue}": {
        "delete": _op(
            "Obliterates a paused queue and all its jobs.",
            [
                QUEUE,
                {**query("confirm", {"type": "string"}, "The queue's name."), "required": True},
                query("force", _FLAG, "1: even with active jobs."),
            ],
            400,
            404,
            409,
        )
    },
    "/api/queues/{queue}/concurrency": {
        "post": _op(
            "Global concurrency across workers (0 removes it).",
            [QUEUE, query("concurrency", _WHOLE, "Jobs at once.")],
            400,
            404,
        )
    },
    "/api/queues/{queue}/rate-limit": {
        "post": _op(
            "Global rate limit: max jobs per duration ms (max 0 removes it).",
            [QUEUE, query("max", _WHOLE, "Jobs."), query("duration", _WHOLE, "Milliseconds.")],
            400,
            404,
        )
    },
    "/api/pause-all": {"post": _op("Pauses every queue shown.", [])},
    "/api/resume-all": {"post": _op("Resumes every paused queue shown.", [])},
}
