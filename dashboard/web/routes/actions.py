"""Routes that change queues: the JSON API of the contract, also called by htmx buttons."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.web import params
from dashboard.web.board import Board
from dashboard.web.lookup import (
    job_id_of,
    queue_action,
    queue_route,
    refusals_as_http,
)
from dashboard.web.openapi.parts import (
    JOB_ID,
    OUTCOME,
    OUTCOME_SCHEMA,
    QUEUE,
    errors,
    json_body,
    query,
)
from dashboard.web.paths import segment
from dashboard.writes.actions import Outcome


@queue_action
async def retry_job(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.retry_job(queue, job_id_of(request))


@queue_action
async def promote_job(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.promote_job(queue, job_id_of(request))


@queue_action
async def remove_job(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.remove_job(queue, job_id_of(request))


@queue_route
async def remove_job_from_its_page(request: Request, board: Board, queue: str) -> Response:
    """Remove on the job page: that page is gone afterwards, so htmx is sent back to the queue,
    on the tab the job was in, where the notice says what was removed."""
    job_id = job_id_of(request)
    status = params.status(request.query_params, "waiting")
    with refusals_as_http():
        await board.actions.remove_job(queue, job_id)
    query = urlencode({"status": status, "removed": job_id})
    target = f"{request.scope.get('root_path', '')}/queue/{segment(queue)}?{query}"
    return Response(status_code=200, headers={"HX-Redirect": target})


@queue_action
async def act_on_selected(request: Request, board: Board, queue: str) -> Outcome:
    """The queue page's "act on the selected": `{"action", "ids"}`, as many ids as a page
    holds at most, so the work is bounded by the selection, never by the queue."""
    action, ids = await _selection(request)
    return await board.actions.act_on_selected(queue, action, ids)


async def _selection(request: Request) -> tuple[str, list[str]]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise params.bad_request('Send {"action", "ids"} as JSON (Content-Type: application/json).')
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise params.bad_request('The body is not valid JSON; send {"action", "ids"}.') from None
    ids = body.get("ids") if isinstance(body, dict) else None
    action = body.get("action") if isinstance(body, dict) else None
    if not isinstance(action, str) or not isinstance(ids, list) or not ids:
        raise params.bad_request(
            'Send {"action": "retry", "remove" or "promote", "ids": [job ids, at least one]}.'
        )
    if not all(isinstance(job_id, str) for job_id in ids):
        raise params.bad_request("Every id in ids must be a string.")
    try:
        "".join(ids).encode()
    except UnicodeEncodeError:
        raise params.bad_request("An id holds a lone surrogate, which is not UTF-8 text.") from None
    if len(ids) > params.MAX_PAGE_SIZE:
        raise params.bad_request(
            f"Select at most {params.MAX_PAGE_SIZE} jobs (a page's worth); got {len(ids):,}."
        )
    return action, ids


@queue_action
async def retry_all(request: Request, board: Board, queue: str) -> Outcome:
    status = request.query_params.get("status", "failed")
    return await board.actions.retry_all(queue, status)


@queue_action
async def promote_all(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.promote_all(queue)


@queue_action
async def clean(request: Request, board: Board, queue: str) -> Outcome:
    query = request.query_params
    status = params.status(query, "completed")
    grace = params.non_negative_int(query, "grace", 0)
    limit = params.positive_int(query, "limit", 0) or None
    return await board.actions.clean(queue, status, grace, limit)


@queue_action
async def pause(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.pause(queue)


@queue_action
async def resume(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.resume(queue)


routes = [
    Route("/api/queues/{queue}/jobs/{job_id}/retry", retry_job, methods=["POST"], name="retry_job"),
    Route(
        "/api/queues/{queue}/jobs/{job_id}/promote",
        promote_job,
        methods=["POST"],
        name="promote_job",
    ),
    Route("/api/queues/{queue}/jobs/{job_id}", remove_job, methods=["DELETE"], name="remove_job"),
    Route(
        "/queue/{queue}/jobs/{job_id}",
        remove_job_from_its_page,
        methods=["DELETE"],
        name="remove_job_from_its_page",
    ),
    Route(
        "/api/queues/{queue}/selected",
        act_on_selected,
        methods=["POST"],
        name="act_on_selected",
    ),
    Route("/api/queues/{queue}/retry", retry_all, methods=["POST"], name="retry_all"),
    Route("/api/queues/{queue}/promote", promote_all, methods=["POST"], name="promote_all"),
    Route("/api/queues/{queue}/clean", clean, methods=["POST"], name="clean"),
    Route("/api/queues/{queue}/pause", pause, methods=["POST"], name="pause"),
    Route("/api/queues/{queue}/resume", resume, methods=["POST"], name="resume"),
]


def _action(summary: str, parameters: list, *statuses: int) -> dict:
    return {
        "summary": summary,
        "parameters": parameters,
        "responses": {"200": OUTCOME, **errors(403, 404, *statuses)},
    }


_STATUS = {"type": "string", "enum": list(params.STATES)}
_SELECTION = {
    "type": "object",
    "required": ["action", "ids"],
    "properties": {
        "action": {"type": "string", "enum": ["retry", "promote", "remove"]},
        "ids": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": params.MAX_PAGE_SIZE,
        },
    },
}
# A selection's answer names each job its script left alone (it changed state meanwhile).
_SELECTED_OUTCOME = json_body(
    {
        **OUTCOME_SCHEMA,
        "required": [*OUTCOME_SCHEMA["required"], "failed"],
        "properties": {
            **OUTCOME_SCHEMA["properties"],
            "failed": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "reason"],
                    "properties": {"id": {"type": "string"}, "reason": {"type": "string"}},
                },
            },
        },
    }
)
openapi = {
    "/api/queues/{queue}/jobs/{job_id}/retry": {
        "post": _action("A failed or completed job back to waiting.", [QUEUE, JOB_ID], 409)
    },
    "/api/queues/{queue}/jobs/{job_id}/promote": {
        "post": _action("A delayed job runs now.", [QUEUE, JOB_ID], 409)
    },
    "/api/queues/{queue}/jobs/{job_id}": {
        "delete": _action("Removes a job (not an active one).", [QUEUE, JOB_ID], 409)
    },
    "/api/queues/{queue}/selected": {
        "post": {
            **_action(
                "Retries, promotes or removes the jobs given (at most a page, 200). Every job's "
                "state is checked first: if one is gone or in a state the action does not apply "
                "to, none is changed (409, naming them).",
                [QUEUE],
                400,
                409,
            ),
            "responses": {**errors(403, 404, 400, 409), "200": _SELECTED_OUTCOME},
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _SELECTION}},
            },
        }
    },
    "/api/queues/{queue}/retry": {
        "post": _action(
            "Every failed (or completed) job back to waiting.",
            [QUEUE, query("status", _STATUS, "failed (default) or completed.")],
            400,
        )
    },
    "/api/queues/{queue}/promote": {"post": _action("Every delayed job runs now.", [QUEUE])},
    "/api/queues/{queue}/clean": {
        "post": _action(
            "Removes a state's jobs older than `grace` ms, at most `limit`.",
            [
                QUEUE,
                query("status", _STATUS, "The state to clean (default completed)."),
                query("grace", {"type": "integer", "minimum": 0}, "Minimum age in ms."),
                query("limit", {"type": "integer", "minimum": 1}, "At most this many jobs."),
            ],
            400,
        )
    },
    "/api/queues/{queue}/pause": {"post": _action("Pauses the queue.", [QUEUE])},
    "/api/queues/{queue}/resume": {"post": _action("Resumes the queue.", [QUEUE])},
}
