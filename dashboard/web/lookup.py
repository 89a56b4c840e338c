"""The one wrapper every queue route goes through: find the board, check the queue exists."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Iterator

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from dashboard.i18n import N_, Text
from dashboard.redis_client.counting import spent_so_far
from dashboard.text import quoted
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.paths import connection_in, path_value, root_of
from dashboard.writes.actions import (
    ActionInterrupted,
    ActionRefused,
    Outcome,
    no_such_job,
    no_such_queue,
)
from dashboard.writes.manage import JobOutcome

# How long one connection may take to answer before it is said to be unreachable, so that a
# Redis that is down never holds up the others on a page or in an answer.
CONNECTION_DEADLINE_S = 3.0

QueueHandler = Callable[[Request, Board, str], Awaitable[Response]]


def boards_of(request: Request) -> dict[str | None, Board]:
    """Every connection's board as this request's caller sees it, in the order configured (one,
    named None, for one URL)."""
    return {name: _as_seen(request, board) for name, board in request.app.state.boards.items()}


def board_of(request: Request) -> Board:
    """The board of the connection the URL names (the first one's when it names none), as
    this request's caller sees it."""
    return _writable(request, _as_seen(request, whole_board(request)))


def _writable(request: Request, board: Board) -> Board:
    """`board`, unless the request is a change (the guard says which are) and the board's
    connection is read-only on its own: refused here, where every route picks its board, so
    that no form of URL reaches the connection past it."""
    if board.settings.read_only and request.scope.get("state", {}).get("changes"):
        raise HTTPException(
            403,
            detail=N_(
                "The connection %(name)s is read-only; actions are disabled there.",
                name=quoted(str(board.connection)),
            ),
        )
    return board


def own_counts(request: Request) -> Callable[[], dict[str, int]] | None:
    """This process's own running command counts, for a measured window, where they are one
    connection's: a process serving several Redis servers counts them all together."""
    return spent_so_far if len(request.app.state.boards) == 1 else None


def whole_board(request: Request) -> Board:
    """The board of the connection the URL names with all its queues, whoever asks: to tell
    the clients of queues outside the caller's grants from strangers."""
    name = connection_in(request.scope)
    board: Board | None = request.app.state.boards.get(name) if name else request.app.state.board
    if board is None:
        raise HTTPException(
            404, detail=N_("There is no Redis connection named %(name)s.", name=quoted(name))
        )
    return board


def _as_seen(request: Request, board: Board) -> Board:
    """A board as this request's caller sees it: queues outside their grants are left out of
    its catalog, as --hide leaves them out, on every page and answer alike."""
    state = request.scope.setdefault("state", {})
    seen_boards = state.setdefault("boards", {})
    seen = seen_boards.get(board.connection)
    if seen is None:
        access = state.get("access")
        seen = board
        if access is not None and not access.sees_all:
            seen = dataclasses.replace(board, catalog=board.catalog.seen_by(access.sees))
        seen_boards[board.connection] = seen
    return seen


async def queue_board(request: Request, queue: str) -> Board:
    """The board holding `queue`. A URL without a connection (today's bookmarks, the API's
    short form) finds it on whichever connection has it, if only one does."""
    boards = boards_of(request)
    if connection_in(request.scope) is not None or len(boards) == 1:
        board = _as_seen(request, whole_board(request))
        if await board.catalog.contains(queue):
            return _writable(request, board)
        holders: list[Board] = []
    else:
        found = await asyncio.gather(
            *(each.catalog.contains(queue) for each in boards.values()), return_exceptions=True
        )
        holders = [each for each, has in zip(boards.values(), found, strict=True) if has is True]
        if len(holders) == 1:
            return _writable(request, holders[0])
    if holders:
        names = ", ".join(str(each.connection) for each in holders)
        raise HTTPException(
            409,
            detail=N_(
                "Queue %(queue)s exists on several connections (%(names)s): name one with "
                "/c/<name>/ or ?connection=name.",
                queue=quoted(queue),
                names=names,
            ),
        )
    raise HTTPException(404, detail=no_such_queue(queue))


def queue_route(handler: QueueHandler) -> Callable[[Request], Awaitable[Response]]:
    """Resolve `{queue}` to a known queue (404 otherwise) and hand it to the handler."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        queue = path_value(request.path_params["queue"])
        return await handler(request, await queue_board(request, queue), queue)

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
    return HTTPException(404, detail=no_such_job(queue, job_id))


def unreachable_text(err: BaseException) -> Text:
    """Why a connection could not be read, in one sentence."""
    detail = str(err).strip() or type(err).__name__
    if isinstance(err, TimeoutError):
        return N_(
            "This Redis is not reachable: no answer within %(s)s s",
            s=format(CONNECTION_DEADLINE_S, "g"),
        )
    return N_("This Redis is not reachable: %(detail)s", detail=detail[:200])
