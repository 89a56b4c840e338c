"""Search routes: a job id across every queue, and name or text within one queue and state.

Each request is one bounded round trip (see dashboard/bullmq/search.py). The queue search page shows
what one slice found and what it cost; "Search further" fetches the next slice and appends it.
"""

from __future__ import annotations

import asyncio

from redis.exceptions import RedisError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from dashboard.bullmq import search
from dashboard.bullmq.keys import STATES
from dashboard.i18n import N_
from dashboard.web import params
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import board_of, boards_of, queue_route
from dashboard.web.openapi.parts import QUEUE, errors, json_body, query
from dashboard.web.paths import connection_in, dashboard_root, root_of, segment
from dashboard.web.render import render

MAX_TEXT = 1_000
API_MATCHES = 50
PAGE_MATCHES = 25


def _text(query: QueryParams, name: str) -> str:
    value = query.get(name, "")
    if len(value) > MAX_TEXT:
        raise params.bad_request(
            N_("%(name)s must be at most %(n)s characters long.", name=name, n=MAX_TEXT)
        )
    return value


def _job_id(query: QueryParams) -> str:
    job_id = _text(query, "id").strip()
    if not job_id:
        raise params.bad_request(N_("id must name a job id, such as id=42."))
    return job_id


async def _find_id(board: Board, job_id: str) -> list[search.IdHit]:
    queues = await board.catalog.names()
    return await search.find_id(board.redis, board.settings.prefix, queues, job_id)


async def _find_everywhere(request: Request, job_id: str) -> list[tuple[Board, search.IdHit]]:
    """The id in every queue of the connection the URL names or, naming none, of every
    connection at once (one round trip each); a connection that is down is left out, unless
    every one is."""
    boards = boards_of(request)
    named = connection_in(request.scope) is not None
    chosen = [board_of(request)] if named or len(boards) == 1 else list(boards.values())
    found = await asyncio.gather(
        *(_find_id(board, job_id) for board in chosen), return_exceptions=True
    )
    hits = [
        (board, hit)
        for board, result in zip(chosen, found, strict=True)
        if not isinstance(result, BaseException)
        for hit in result
    ]
    failures = [result for result in found if isinstance(result, BaseException)]
    if failures and (len(failures) == len(found) or not isinstance(failures[0], RedisError)):
        raise failures[0]
    return hits


def _job_link(request: Request, board: Board, hit: search.IdHit) -> str:
    root = dashboard_root(request.scope)
    base = f"{root}/c/{segment(board.connection)}" if board.connection else root
    return f"{base}/queue/{segment(hit.queue)}/jobs/{segment(hit.id)}"


async def _slice(
    request: Request, board: Board, queue: str, default_status: str, matches: int
) -> search.SearchSlice:
    query = request.query_params
    return await search.search_state(
        board.redis,
        board.settings.prefix,
        queue,
        params.status(query, default_status),
        name=_text(query, "name"),
        text=_text(query, "data"),
        offset=params.non_negative_int(query, "cursor", 0),
        budget=params.positive_int(query, "budget", search.DEFAULT_BUDGET, search.MAX_BUDGET),
        page=params.positive_int(query, "pageSize", matches, params.MAX_PAGE_SIZE),
        redactor=board.reader.redactor,
    )


async def api_find_id(request: Request) -> Response:
    hits = await _find_everywhere(request, _job_id(request.query_params))
    return JSONResponse(
        {"jobs": [{**hit.as_json(), "connection": board.connection} for board, hit in hits]}
    )


@queue_route
async def api_search(request: Request, board: Board, queue: str) -> Response:
    found = await _slice(request, board, queue, "failed", API_MATCHES)
    return JSONResponse(found.as_json())


async def find_id_page(request: Request) -> Response:
    """The top bar's search box: straight to the job when exactly one queue has it."""
    job_id = _job_id(request.query_params)
    hits = await _find_everywhere(request, job_id)
    if len(hits) == 1:
        return RedirectResponse(_job_link(request, *hits[0]), status_code=303)
    rows = [(hit, board.connection, _job_link(request, board, hit)) for board, hit in hits]
    named = any(connection for _, connection, _ in rows)
    context = {
        "rows": rows,
        "named": named,
        "job_id": job_id,
        "title": N_("Job id %(id)s", id=job_id),
    }
    return render(request, "search_id.html", context)


@queue_route
async def search_page(request: Request, board: Board, queue: str) -> Response:
    """The search form and the first slice; with a cursor under htmx, just the next slice."""
    query = request.query_params
    found = await _slice(request, board, queue, "completed", PAGE_MATCHES)
    context = {
        "queue": queue,
        "found": found,
        "status": params.status(query, "completed"),
        "name": query.get("name", ""),
        "data": query.get("data", ""),
        "budget": params.positive_int(query, "budget", search.DEFAULT_BUDGET, search.MAX_BUDGET),
        # Commands spent by the slices before this one, carried by the "Search further" link.
        "spent": params.non_negative_int(query, "spent", 0) + found.commands,
        "title": N_("Search %(queue)s", queue=queue),
    }
    if "hx-request" in request.headers and "cursor" in query:
        return request.app.state.templates.TemplateResponse(
            request,
            "partials/search_slice.html",
            {**context, "base": root_of(request.scope)},
        )
    return render(request, "search.html", context)


routes = [
    Route("/api/search", api_find_id, name="api_find_id"),
    Route("/api/queues/{queue}/search", api_search, name="api_search"),
    Route("/search", find_id_page, name="find_id_page"),
    Route("/queue/{queue}/search", search_page, name="search_page"),
]

ID_HIT = {
    "type": "object",
    "required": ["queue", "id", "state", "name"],
    "properties": {k: {"type": "string"} for k in ("queue", "id", "state", "name")},
}
openapi = {
    "/api/search": {
        "get": {
            "summary": "Every queue holding a job with this id (one script call per queue, one "
            "round trip; 2 executed commands per queue without it).",
            "parameters": [
                {
                    **query(
                        "id",
                        {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
                        "The job id, matched exactly.",
                    ),
                    "required": True,
                },
            ],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["jobs"],
                        "properties": {"jobs": {"type": "array", "items": ID_HIT}},
                    }
                ),
                **errors(400),
            },
        }
    },
    "/api/queues/{queue}/search": {
        "get": {
            "summary": "One slice of a state searched by name and/or text (at most budget + 3 "
            "executed commands).",
            "parameters": [
                QUEUE,
                query("status", {"type": "string", "enum": list(STATES)}, "Default failed."),
                query("name", {"type": "string", "maxLength": MAX_TEXT}, "Text in the name."),
                query(
                    "data",
                    {"type": "string", "maxLength": MAX_TEXT},
                    "Text in the data, return value or failed reason (any case).",
                ),
                query("cursor", {"type": "integer", "minimum": 0}, "From a previous answer."),
                query(
                    "budget",
                    {"type": "integer", "minimum": 1, "maximum": search.MAX_BUDGET},
                    "Jobs read at most (default 1,000).",
                ),
                query(
                    "pageSize",
                    {"type": "integer", "minimum": 1, "maximum": params.MAX_PAGE_SIZE},
                    "Stop at this many matches (default 50).",
                ),
            ],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["jobs", "cursor", "scanned", "commands", "searched", "total"],
                        "properties": {
                            "jobs": {"type": "array", "items": {"type": "object"}},
                            "cursor": {"type": "string", "nullable": True},
                            **{
                                k: {"type": "integer", "minimum": 0}
                                for k in ("scanned", "commands", "searched", "total")
                            },
                        },
                    }
                ),
                **errors(400, 404),
            },
        }
    },
}
