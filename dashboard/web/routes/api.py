"""The JSON API under the base path: the read routes of the interface contract."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.bullmq.latency import latency_s
from dashboard.bullmq.reader import QueueSummary
from dashboard.web import params
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import (
    CONNECTION_DEADLINE_S,
    board_of,
    boards_of,
    job_id_of,
    job_not_found,
    queue_route,
    unreachable_text,
)
from dashboard.web.openapi.parts import CONNECTION, JOB_ID, QUEUE, errors, json_body, query
from dashboard.web.paths import connection_in

API_PAGE_SIZE = 10
# Queues per page of `api/queues` when paged and no pageSize is given (the overview's 50).
API_QUEUE_PAGE_SIZE = 50
QUEUE_PAGING = ("page", "pageSize", "q")


async def list_queues(request: Request) -> Response:
    """Every queue (the contract), or with `page`, `pageSize` or `q` a page of those whose names
    match: 9 commands a queue returned either way, and 1 or 2 for the latency of each with jobs
    waiting. Each queue names its connection (null with one unnamed Redis); with several and no
    `connection=`, every connection's queues."""
    query = request.query_params
    paged = any(name in query for name in QUEUE_PAGING)
    boards = boards_of(request)
    if len(boards) > 1 and connection_in(request.scope) is None:
        if paged:
            raise HTTPException(
                400, detail="With several Redis connections, page through one: add connection=."
            )
        return await _every_connection(list(boards.values()))
    board = board_of(request)
    names = await board.catalog.names()
    if not paged:
        summaries = await board.reader.summaries(names)
        return JSONResponse({"queues": await _listed(board, summaries), "total": len(names)})
    page_size = params.positive_int(query, "pageSize", API_QUEUE_PAGE_SIZE, params.MAX_PAGE_SIZE)
    window = params.queue_window(query, names, page_size)
    summaries = await board.reader.summaries(window.shown)
    return JSONResponse(
        {
            "queues": await _listed(board, summaries),
            "total": len(window.matching),
            "page": window.page,
            "pageSize": page_size,
            "pageCount": window.page_count,
        }
    )


async def _listed(board: Board, summaries: list[QueueSummary]) -> list[dict[str, Any]]:
    """Each queue's contract fields, its connection, and its latency: seconds its oldest
    waiting job has waited (null when none waits)."""
    due = await board.oldest_due(summaries, live=False)
    now = time.time()
    queues = []
    for summary in summaries:
        latency = latency_s(due.get(summary.name), now)
        queues.append(
            {
                **summary.as_json(),
                "latency": None if latency is None else round(latency, 3),
                "connection": board.connection,
            }
        )
    return queues


async def _every_connection(boards: list[Board]) -> Response:
    """Every connection's queues, read at once; one that cannot be read is listed apart."""

    async def read(board: Board) -> list[dict[str, Any]]:
        async with asyncio.timeout(CONNECTION_DEADLINE_S):
            return await _listed(board, await board.reader.summaries(await board.catalog.names()))

    found = await asyncio.gather(*(read(board) for board in boards), return_exceptions=True)
    queues: list[dict[str, Any]] = []
    unreachable = []
    for board, result in zip(boards, found, strict=True):
        if isinstance(result, RedisError | OSError | TimeoutError):
            unreachable.append({"connection": board.connection, "error": unreachable_text(result)})
        elif isinstance(result, BaseException):
            raise result
        else:
            queues.extend(result)
    return JSONResponse({"queues": queues, "total": len(queues), "unreachable": unreachable})


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
                CONNECTION,
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
                            "unreachable": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "connection": {"type": "string"},
                                        "error": {"type": "string"},
                                    },
                                },
                            },
                            "queues": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["name", "counts", "isPaused", "connection"],
                                    "properties": {
                                        "name": {"type": "string"},
                                        "connection": {"type": "string", "nullable": True},
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
                **errors(400, 404),
            },
        }
    },
    "/api/queues/{queue}/jobs": {
        "get": {
            "summary": "One page of a state's jobs, in Node BullMQ's getJobs order.",
            "parameters": [
                QUEUE,
                CONNECTION,
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
                **errors(400, 404, 409),
            },
        }
    },
    "/api/queues/{queue}/jobs/{job_id}": {
        "get": {
            "summary": "One job with its state and newest logs.",
            "parameters": [QUEUE, JOB_ID, CONNECTION],
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
                **errors(404, 409),
            },
        }
    },
}
