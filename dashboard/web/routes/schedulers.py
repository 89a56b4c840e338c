"""A queue's job schedulers: the Schedulers tab, its JSON, and Run now / Remove."""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.bullmq import schedulers
from dashboard.i18n import N_
from dashboard.web import params
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import queue_action, queue_route
from dashboard.web.openapi.parts import OUTCOME, QUEUE, errors, json_body, query
from dashboard.web.paths import path_value
from dashboard.web.render import render
from dashboard.writes.actions import Outcome

PAGE_SIZE = 25
API_PAGE_SIZE = 10


@queue_route
async def schedulers_tab(request: Request, board: Board, queue: str) -> Response:
    page, page_size = params.paging(request.query_params, PAGE_SIZE)
    [summary] = await board.reader.summaries([queue])
    result = await _page(board, queue, page, page_size, summary.schedulers)
    drain_every = board.settings.drain_every
    pickups = {s.id: schedulers.drain_pickup(s.next, drain_every) for s in result.schedulers}
    return render(
        request,
        "schedulers.html",
        {
            "queue": summary,
            "result": result,
            "pickups": pickups,
            "drain_every": drain_every,
            "status": "schedulers",
            "title": N_("%(queue)s · schedulers", queue=queue),
            "live_queue": queue,
        },
    )


@queue_route
async def list_schedulers(request: Request, board: Board, queue: str) -> Response:
    page, page_size = params.paging(request.query_params, API_PAGE_SIZE)
    result = await _page(board, queue, page, page_size)
    return JSONResponse(
        {"schedulers": [s.as_json() for s in result.schedulers], "total": result.total}
    )


async def _page(
    board: Board, queue: str, page: int, size: int, total: int | None = None
) -> schedulers.SchedulerPage:
    """A page of schedulers, their job templates redacted as jobs are (--redact)."""
    keys = board.reader.keys(queue)
    result = await schedulers.scheduler_page(board.redis, keys, page, size, total)
    redactor = board.reader.redactor
    if not redactor.paths:
        return result
    shown = [
        replace(s, template=redactor.fields(s.template)) if s.template else s
        for s in result.schedulers
    ]
    return replace(result, schedulers=shown)


def scheduler_id_of(request: Request) -> str:
    return path_value(request.path_params["scheduler_id"])


@queue_action
async def run_scheduler(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.run_scheduler(queue, scheduler_id_of(request))


@queue_action
async def remove_scheduler(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.remove_scheduler(queue, scheduler_id_of(request))


routes = [
    Route("/queue/{queue}/schedulers", schedulers_tab, name="schedulers_tab"),
    Route("/api/queues/{queue}/schedulers", list_schedulers, name="list_schedulers"),
    Route(
        "/api/queues/{queue}/schedulers/{scheduler_id}/run",
        run_scheduler,
        methods=["POST"],
        name="run_scheduler",
    ),
    Route(
        "/api/queues/{queue}/schedulers/{scheduler_id}",
        remove_scheduler,
        methods=["DELETE"],
        name="remove_scheduler",
    ),
]

SCHEDULER_ID = {
    "name": "scheduler_id",
    "in": "path",
    "required": True,
    "description": "The scheduler's id (a repeatable job's key), percent-encoded as one segment.",
    "schema": {"type": "string", "minLength": 1},
}
_INT_OR_NULL = {"type": "integer", "nullable": True}
_TEXT_OR_NULL = {"type": "string", "nullable": True}
SCHEDULER = {
    "type": "object",
    "required": [
        "id", "name", "pattern", "every", "tz", "next", "iterationCount", "limit", "startDate",
        "endDate", "template",
    ],
    "properties": {
        "id": {"type": "string"},
        "name": _TEXT_OR_NULL,
        "pattern": _TEXT_OR_NULL,
        "every": _INT_OR_NULL,
        "tz": _TEXT_OR_NULL,
        "next": _INT_OR_NULL,
        "iterationCount": _INT_OR_NULL,
        "limit": _INT_OR_NULL,
        "startDate": _INT_OR_NULL,
        "endDate": _INT_OR_NULL,
        "template": {
            "type": "object",
            "nullable": True,
            "required": ["data", "opts"],
            "properties": {"data": {"nullable": True}, "opts": {"nullable": True}},
        },
    },
}  # fmt: skip


def _action(summary: str) -> dict:
    return {
        "summary": summary,
        "parameters": [QUEUE, SCHEDULER_ID],
        "responses": {"200": OUTCOME, **errors(403, 404, 409)},
    }


openapi = {
    "/api/queues/{queue}/schedulers": {
        "get": {
            "summary": "A page of job schedulers and repeatable jobs, in getJobSchedulers() order.",
            "parameters": [
                QUEUE,
                query("page", {"type": "integer", "minimum": 1}, "1-based page."),
                query(
                    "pageSize",
                    {"type": "integer", "minimum": 1, "maximum": params.MAX_PAGE_SIZE},
                    "Schedulers per page (default 10).",
                ),
            ],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["schedulers", "total"],
                        "properties": {
                            "schedulers": {"type": "array", "items": SCHEDULER},
                            "total": {"type": "integer", "minimum": 0},
                        },
                    }
                ),
                **errors(400, 404),
            },
        }
    },
    "/api/queues/{queue}/schedulers/{scheduler_id}/run": {
        "post": _action("Promotes the scheduler's pending delayed job: it runs now.")
    },
    "/api/queues/{queue}/schedulers/{scheduler_id}": {
        "delete": _action("Removes the scheduler and its pending job.")
    },
}
