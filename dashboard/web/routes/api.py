"""The JSON API under the base path: the read routes of the interface contract."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.bullmq.latency import latency_s
from dashboard.bullmq.reader import QueueSummary
from dashboard.web import params
from dashboard.web.board import Board
from dashboard.web.lookup import board_of, job_id_of, job_not_found, queue_route
from dashboard.web.openapi.parts import JOB_ID, QUEUE, errors, json_body, query

API_PAGE_SIZE = 10
# Queues per page of `api/queues` when paged and no pageSize is given (the overview's 50).
API_QUEUE_PAGE_SIZE = 50
QUEUE_PAGING = ("page", "pageSize", "q")


async def list_queues(request: Request) -> Response:
    """Every queue (the contract), or with `page`, `pageSize` or `q` a page of those whose names
    match: 9 commands a queue returned either way, and 1 or 2 for the latency of each with jobs
    waiting."""
    board = board_of(request)
    names = await board.catalog.names()
    query = request.query_params
    if not any(name in query for name in QUEUE_PAGING):
        summaries = await board.reader.summaries(names)
        return JSONResponse({"queues": await _queues_json(board, summaries), "total": len(names)})
    page_size = params.positive_int(query, "pageSize", API_QUEUE_PAGE_SIZE, params.MAX_PAGE_SIZE)
    window = params.queue_window(query, names, page_size)
    summaries = await board.reader.summaries(window.shown)
    return JSONResponse(
        {
            "queues": await _queues_json(board, summaries),
            "total": len(window.matching),
            "page": window.page,
            "pageSize": page_size,
            "pageCount": window.page_count,
        }
    )


async def _queues_json(board: Board, summaries: list[QueueSummary]) -> list[dict[str, Any]]:
    """Each queue's contract fields, and its latency: seconds its oldest waiting job has waited
    (null when none waits)."""
    due = await board.oldest_due(summaries, live=False)
    now = time.time()
    queues = []
    for summary in summaries:
        latency = latency_s(due.get(summary.name), now)
        queues.append(
            {**summary.as_json(), "latency": None if latency is None else round(latency, 3)}
        )
    return queues


@queue_route
async def list_jobs(request: Request, board: Board, queue: str) -> Response:
    status = params.status(request.query_params, "failed")
    page, page_size = params.paging(request.query_params, API_PAGE_SIZE)
    result = await board.reader.job_page(queue, status, page, page_size)
    return JSONResponse(
        {"jobs": result.jobs, "total": result.total, "page": page, "pageSize": page_size}
    )


@queue_route
async def get_job(request: Request, board: Board, queue: str) -> Response:
    job_id = job_id_of(request)
    job = await board.reader.job(queue, job_id)
    if job is None:
        raise job_not_found(queue, job_id)
    return JSONResponse(job)


routes = [
    Route("/api/queues", list_queues, name="list_queues"),
    Route("/api/queues/{queue}/jobs", list_jobs, name="list_jobs"),
    Route("/api/queues/{queue}/jobs/{job_id}", get_job, name="get_job"),
]

STATUS_ENUM = {"type": "string", "enum": list(params.STATES)}
COUNTS = {
    "type": "object",
    "required": list(params.STATES),
    "properties": {state: {"type": "integer", "minimum": 0} for state in params.STATES},
}
openapi = {
    "/api/queues": {
        "get": {
            "summary": "Every queue with its job counts and latency, or a page of them (9 "
            "commands per queue returned, and 1 or 2 for each with jobs waiting).",
            "parameters": [
                query("q", {"type": "string"}, "Only queues whose names contain this, any case."),
                query("page", {"type": "integer", "minimum": 1}, "1-based page of queues."),
                query(
                    "pageSize",
                    {"type": "integer", "minimum": 1, "maximum": params.MAX_PAGE_SIZE},
                    f"Queues per page (default {API_QUEUE_PAGE_SIZE}).",
                ),
            ],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["queues", "total"],
                        "properties": {
                            "total": {"type": "integer", "minimum": 0},
                            "page": {"type": "integer", "minimum": 1},
                            "pageSize": {"type": "integer", "minimum": 1},
                            "pageCount": {"type": "integer", "minimum": 1},
                            "queues": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["name", "counts", "isPaused"],
                                    "properties": {
                                        "name": {"type": "string"},
                                        "counts": COUNTS,
                                        "isPaused": {"type": "boolean"},
                                        "latency": {
                                            "type": ["number", "null"],
                                            "minimum": 0,
                                            "description": "Seconds the oldest waiting job has "
                                            "waited; null when none waits (or paused).",
                                        },
                                    },
                                },
                            },
                        },
                    }
                ),
                **errors(400),
            },
        }
    },
    "/api/queues/{queue}/jobs": {
        "get": {
            "summary": "One page of a state's jobs, in Node BullMQ's getJobs order.",
            "parameters": [
                QUEUE,
                query("status", STATUS_ENUM, "The state to list (default failed)."),
                query("page", {"type": "integer", "minimum": 1}, "1-based page."),
                query(
                    "pageSize",
                    {"type": "integer", "minimum": 1, "maximum": params.MAX_PAGE_SIZE},
                    "Jobs per page (default 10).",
                ),
            ],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["jobs", "total", "page", "pageSize"],
                        "properties": {
                            "jobs": {"type": "array", "items": {"type": "object"}},
                            "total": {"type": "integer", "minimum": 0},
                            "page": {"type": "integer", "minimum": 1},
                            "pageSize": {"type": "integer", "minimum": 1},
                        },
                    }
                ),
                **errors(400, 404),
            },
        }
    },
    "/api/queues/{queue}/jobs/{job_id}": {
        "get": {
            "summary": "One job with its state and newest logs.",
            "parameters": [QUEUE, JOB_ID],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["id", "state", "logs", "logCount"],
                        "properties": {
                            "id": {"type": "string"},
                            "state": {"type": "string"},
                            "logs": {"type": "array", "items": {"type": "string"}},
                            "logCount": {"type": "integer", "minimum": 0},
                        },
                    }
                ),
                **errors(404),
            },
        }
    },
}
