"""The one wrapper every queue route goes through: find the board, check the queue exists."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Iterator

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.access import EVERYWHERE
from dashboard.text import quoted
from dashboard.web.board import Board
from dashboard.web.paths import path_value, root_of
from dashboard.writes.actions import ActionInterrupted, ActionRefused, Outcome
from dashboard.writes.manage import JobOutcome

QueueHandler = Callable[[Request, Board, str], Awaitable[Response]]


def board_of(request: Request) -> Board:
    """The app's board as this request's caller sees it: queues outside their grants are left
    out of its catalog, as --hide leaves them out, on every page and answer alike."""
    state = request.scope.setdefault("state", {})
    seen = state.get("board")
    if seen is None:
        board: Board = request.app.state.board
        access = state.get("access")
        seen = board
        if access is not None and access.lists != (EVERYWHERE,):
            seen = dataclasses.replace(board, catalog=board.catalog.seen_by(access.sees))
        state["board"] = seen
    return seen


def queue_route(handler: QueueHandler) -> Callable[[Request], Awaitable[Response]]:
    """Resolve `{queue}` to a known queue (404 otherwise) and hand it to the handler."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        board = board_of(request)
        queue = path_value(request.path_params["queue"])
        if not await board.catalog.contains(queue):
            raise HTTPException(
                404, detail=f"There is no queue named {quoted(queue)} under this prefix."
            )
        return await handler(request, board, queue)

    return endpoint


ActionHandler = Callable[[Request, Board, str], Awaitable[Outcome]]


def queue_action(handler: ActionHandler) -> Callable[[Request], Awaitable[Response]]:
    """A state-changing queue route (whom it is open to is the guard's call: the role table in
    web/registry.py), answered as JSON or, for htmx, as a one-line notice that also tells the
    page to refresh its counts."""

    @queue_route
    @functools.wraps(handler)
    async def endpoint(request: Request, board: Board, queue: str) -> Response:
        return await answer(request, handler(request, board, queue))

    return endpoint


@contextlib.contextmanager
def refusals_as_http() -> Iterator[None]:
    """An action's refusal (ActionRefused) becomes the HTTP error it names; one cut short by a
    lost connection (ActionInterrupted) a 503 saying what was done."""
    try:
        yield
    except ActionRefused as refused:
        raise HTTPException(refused.status, detail=refused.message) from None
    except ActionInterrupted as interrupted:
        raise HTTPException(503, interrupted.message, {"Retry-After": "5"}) from None


async def answer(request: Request, action: Awaitable[Outcome]) -> Response:
    """An action's outcome as JSON or, for htmx, as a one-line notice that also tells the page
    to refresh its counts."""
    with refusals_as_http():
        outcome = await action
    if "hx-request" in request.headers:
        job = None
        if isinstance(outcome, JobOutcome) and outcome.job_id and "queue" in request.path_params:
            job = (path_value(request.path_params["queue"]), outcome.job_id)
        return notice(request, outcome.message, ok=True, job=job)
    return JSONResponse(outcome.as_json())


def notice(
    request: Request, message: str, ok: bool, job: tuple[str, str] | None = None
) -> Response:
    """The htmx answer to an action: a notice, and an event that makes the page reload its data.
    `job` (queue, id) adds a link to the job the action made, such as an added job."""
    response = request.app.state.templates.TemplateResponse(
        request,
        "partials/notice.html",
        {"message": message, "ok": ok, "job": job, "base": root_of(request.scope)},
    )
    if ok:
        response.headers["HX-Trigger"] = "drainboard:changed"
    return response


def job_id_of(request: Request) -> str:
    """The `{job_id}` path parameter as the id it names (`%2F` in the URL is a `/` in the id).
    Whether it can name a job at all is keys.is_job_id's call, made by the reader."""
    return path_value(request.path_params["job_id"])


def job_not_found(queue: str, job_id: str) -> HTTPException:
    return HTTPException(404, detail=f"Queue {quoted(queue)} has no job with id {quoted(job_id)}.")
