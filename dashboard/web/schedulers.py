"""A queue's job schedulers: the Schedulers tab, its JSON, and Run now / Remove."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard import schedulers
from dashboard.actions import Outcome
from dashboard.web import params
from dashboard.web.board import Board
from dashboard.web.lookup import queue_action, queue_route
from dashboard.web.pages import render
from dashboard.web.paths import path_value

PAGE_SIZE = 25
API_PAGE_SIZE = 10


@queue_route
async def schedulers_tab(request: Request, board: Board, queue: str) -> Response:
    page, page_size = params.paging(request.query_params, PAGE_SIZE)
    [summary] = await board.reader.summaries([queue])
    result = await schedulers.scheduler_page(board.redis, board.reader.keys(queue), page, page_size)
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
            "title": f"{queue} · schedulers",
            "live_queue": queue,
        },
    )


@queue_route
async def list_schedulers(request: Request, board: Board, queue: str) -> Response:
    page, page_size = params.paging(request.query_params, API_PAGE_SIZE)
    result = await schedulers.scheduler_page(board.redis, board.reader.keys(queue), page, page_size)
    return JSONResponse(
        {"schedulers": [s.as_json() for s in result.schedulers], "total": result.total}
    )


def scheduler_id_of(request: Request) -> str:
    return path_value(request.path_params["scheduler_id"])


@queue_action
async def run_scheduler(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.run_scheduler(queue, scheduler_id_of(request))


@queue_action
async def remove_scheduler(request: Request, board: Board, queue: str) -> Outcome:
    return await board.actions.remove_scheduler(queue, scheduler_id_of(request))


routes = [
    Route("/queue/{queue}/schedulers", schedulers_tab),
    Route("/api/queues/{queue}/schedulers", list_schedulers),
    Route("/api/queues/{queue}/schedulers/{scheduler_id}/run", run_scheduler, methods=["POST"]),
    Route("/api/queues/{queue}/schedulers/{scheduler_id}", remove_scheduler, methods=["DELETE"]),
]
