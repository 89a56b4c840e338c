"""The JSON API under the base path: the read routes of the interface contract."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.web import params
from dashboard.web.board import Board
from dashboard.web.lookup import board_of, job_id_of, job_not_found, queue_route

API_PAGE_SIZE = 10


async def list_queues(request: Request) -> Response:
    board = board_of(request)
    summaries = await board.reader.summaries(await board.catalog.names())
    return JSONResponse({"queues": [s.as_json() for s in summaries]})


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
    Route("/api/queues", list_queues),
    Route("/api/queues/{queue}/jobs", list_jobs),
    Route("/api/queues/{queue}/jobs/{job_id}", get_job),
]
