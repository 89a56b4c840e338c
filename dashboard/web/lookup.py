"""The one wrapper every queue route goes through: find the board, check the queue exists."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from dashboard.web.board import Board

QueueHandler = Callable[[Request, Board, str], Awaitable[Response]]


def board_of(request: Request) -> Board:
    return request.app.state.board


def queue_route(handler: QueueHandler) -> Callable[[Request], Awaitable[Response]]:
    """Resolve `{queue}` to a known queue (404 otherwise) and hand it to the handler."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        board = board_of(request)
        queue = request.path_params["queue"]
        if not await board.catalog.contains(queue):
            raise HTTPException(404, detail=f"There is no queue named {queue!r} under this prefix.")
        return await handler(request, board, queue)

    return endpoint


def job_not_found(queue: str, job_id: str) -> HTTPException:
    return HTTPException(404, detail=f"Queue {queue!r} has no job with id {job_id!r}.")
