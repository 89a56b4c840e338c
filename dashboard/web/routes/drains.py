"""Drain routes: the cron endpoint `POST /api/v1/cron/drain-queues` (its contract is in the
README's "Draining queues on demand"), the dashboard's "Drain now", and the run history."""

from __future__ import annotations

import asyncio

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.drain.engine import (
    DEFAULT_MAX_CONCURRENT_QUEUES,
    DEFAULT_MAX_DURATION_MS,
    MAX_DURATION_MS,
    NO_PROCESSOR,
    DrainOptions,
)
from dashboard.i18n import N_, T_, Tp_
from dashboard.text import quoted
from dashboard.web import params
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import board_of, boards_of, notice, queue_board
from dashboard.web.middleware.guard import bearer_token, same_secret
from dashboard.web.middleware.throttle import client_of
from dashboard.web.openapi.parts import CONNECTION, errors, json_body, query
from dashboard.web.paths import connection_in
from dashboard.web.render import render

CRON_CALLS_PER_MINUTE = 12
MAX_CONCURRENT_QUEUES = 16
TOKEN_HEADERS = ("x-cron-secret", "x-cron-token")


async def drain_options(request: Request, trigger: str, board: Board) -> DrainOptions:
    """The cron endpoint's query parameters (`queue`, `maxDurationMs`, `maxConcurrentQueues`,
    `maxJobsPerQueue`), each checked; a bad one is a 400 naming it.

    The contract puts every parameter in the query string. A body that asks for
    something (`{"queue": "a"}`) is refused rather than ignored: ignored, it drains every queue.
    An empty body or `{}` asks nothing (the documented curl sends a JSON Content-Type and no
    body; schedulers may send `{}`)."""
    if (await request.body()).strip() not in (b"", b"{}"):
        raise params.bad_request(
            "The drain takes its parameters in the query string (?queue=…&maxDurationMs=…),"
            " not in a request body."
        )
    query = request.query_params
    known = await board.catalog.names()
    queue = query.get("queue")
    if queue is not None and queue not in known:
        allowed = ", ".join(known) or "none found"
        raise params.bad_request(f"Unknown queue {quoted(queue)}. Allowed: {allowed}.")
    return DrainOptions(
        queues=(queue,) if queue else tuple(known),
        max_duration_ms=params.positive_int(
            query, "maxDurationMs", DEFAULT_MAX_DURATION_MS, MAX_DURATION_MS
        ),
        max_concurrent_queues=params.positive_int(
            query, "maxConcurrentQueues", DEFAULT_MAX_CONCURRENT_QUEUES, MAX_CONCURRENT_QUEUES
        ),
        max_jobs_per_queue=_optional_positive(query, "maxJobsPerQueue"),
        trigger=trigger,
        metrics_max_data_points=board.settings.metrics_max_data_points,
    )


def _optional_positive(query: QueryParams, name: str) -> int | None:
    return params.positive_int(query, name, 0) if query.get(name) else None


async def cron_drain(request: Request) -> Response:
    board = board_of(request)
    if board.settings.redis_url is None:
        raise HTTPException(500, detail="REDIS_URL is not configured.")
    # Every call counts against the limit before the token is looked at: wrong tokens too.
    wait = request.app.state.cron_limiter.take(client_of(request))
    if wait:
        raise HTTPException(
            429,
            detail=f"At most {CRON_CALLS_PER_MINUTE} drains per minute per client; retry later.",
            headers={"Retry-After": str(wait)},
        )
    offered = [request.headers.get(name) for name in TOKEN_HEADERS]
    offered.append(bearer_token(request))
    if not any(
        same_secret(given, token) for given in offered for token in board.settings.cron_tokens
    ):
        raise HTTPException(401, detail="Missing or invalid drain token.")
    boards = boards_of(request)
    if len(boards) > 1 and connection_in(request.scope) is None:
        return JSONResponse(await _drain_every_connection(request, list(boards.values())))
    result = await board.engine.drain(await drain_options(request, "cron", board))
    return JSONResponse(result.as_json())


async def _drain_every_connection(request: Request, boards: list[Board]) -> dict[str, object]:
    """One cron call for every connection: their drains run at once, so the same maxDurationMs
    bounds the whole call. `queue=` drains that queue wherever it is. Queues are keyed
    `<connection>:<queue>` (queue names have no `:`), each connection's totals beside them."""
    queue = request.query_params.get("queue")
    chosen = [b for b in boards if queue is None or queue in await b.catalog.names()]
    if not chosen:
        raise params.bad_request(f"No connection has a queue named {quoted(queue or '')}.")
    options = [await drain_options(request, "cron", board) for board in chosen]
    results = await asyncio.gather(
        *(board.engine.drain(each) for board, each in zip(chosen, options, strict=True))
    )
    return {
        "ok": True,
        "durationMs": max(result.duration_ms for result in results),
        "totalProcessed": sum(result.total_processed for result in results),
        "totalFailed": sum(result.total_failed for result in results),
        "queues": {
            f"{board.connection}:{name}": run.as_json()
            for board, result in zip(chosen, results, strict=True)
            for name, run in result.queues.items()
        },
        "connections": {
            str(board.connection): {
                "durationMs": result.duration_ms,
                "totalProcessed": result.total_processed,
                "totalFailed": result.total_failed,
            }
            for board, result in zip(chosen, results, strict=True)
        },
    }


# Queues a Drain now notice names among those it could not drain; the rest are counted.
QUEUES_NAMED_IN_NOTICE = 3


async def drain_now(request: Request) -> Response:
    """The dashboard's button and `POST api/drain`: the same engine, the same answer. A
    `?queue=` with no connection named drains it where it is (409 when several have it)."""
    queue = request.query_params.get("queue")
    chosen = connection_in(request.scope) is not None or len(request.app.state.boards) == 1
    board = board_of(request) if queue is None or chosen else await queue_board(request, queue)
    result = await board.engine.drain(await drain_options(request, "dashboard", board))
    if "hx-request" not in request.headers:
        return JSONResponse(result.as_json())
    # Failed jobs are among the processed ones: say it as completed + failed = processed. A
    # notice is for the person who pressed the button: in their language (T_).
    busy = [
        T_("%(queue)s: %(done)s completed, %(failed)s failed", queue=q, done=done, failed=failed)
        if failed
        else T_("%(queue)s: %(done)s completed", queue=q, done=done)
        for q, r in result.queues.items()
        if r.jobs_processed
        for done, failed in [(r.jobs_processed - r.jobs_failed, r.jobs_failed)]
    ]
    paused = [q for q, r in result.queues.items() if r.skipped == "paused"]
    if paused:
        busy.append(T_("skipped, paused with jobs held: %(queues)s", queues=", ".join(paused)))
    unprocessed = [q for q, r in result.queues.items() if r.skipped == NO_PROCESSOR]
    if unprocessed:
        # Why a drain took nothing from queues whose jobs wait: say it, naming a few of them.
        cut = QUEUES_NAMED_IN_NOTICE
        named = ", ".join(unprocessed[:cut]) + ("…" if len(unprocessed) > cut else "")
        busy.append(
            Tp_(
                "%(count)s queue has no processor registered: %(queues)s",
                "%(count)s queues have no processor registered: %(queues)s",
                len(unprocessed),
                queues=named,
            )
        )
    message = Tp_(
        "Drained %(count)s job in %(ms)s ms (%(summary)s).",
        "Drained %(count)s jobs in %(ms)s ms (%(summary)s).",
        result.total_processed,
        ms=result.duration_ms,
        summary="; ".join(busy) if busy else T_("nothing was waiting"),
    )
    return notice(request, message, ok=True)


async def history(request: Request) -> Response:
    runs, last_idle = await board_of(request).engine.history()
    # An idle tick is one line on the page; the paused queues it left alone are named in it.
    held = [
        name
        for name, run in ((last_idle or {}).get("queues") or {}).items()
        if isinstance(run, dict) and run.get("skipped") == "paused"
    ]
    context = {"runs": runs, "last_idle": last_idle, "held": held, "title": N_("Drain runs")}
    return render(request, "drains.html", context)


cron_routes = [Route("/api/v1/cron/drain-queues", cron_drain, methods=["POST"], name="cron_drain")]
routes = [
    Route("/api/drain", drain_now, methods=["POST"], name="drain_now"),
    Route("/drains", history, name="history"),
]

DRAIN_RESULT = json_body(
    {
        "type": "object",
        "required": ["ok", "durationMs", "totalProcessed", "totalFailed", "queues"],
        "properties": {
            "ok": {"type": "boolean"},
            "durationMs": {"type": "integer", "minimum": 0},
            "totalProcessed": {"type": "integer", "minimum": 0},
            "totalFailed": {"type": "integer", "minimum": 0},
            "queues": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["jobsProcessed", "jobsFailed", "idleAt"],
                },
            },
        },
    }
)
DRAIN_PARAMETERS = [
    query("queue", {"type": "string"}, "Drain only this queue."),
    query(
        "maxDurationMs",
        {"type": "integer", "minimum": 1, "maximum": MAX_DURATION_MS},
        "Wall-clock cap in ms.",
    ),
    query(
        "maxConcurrentQueues",
        {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENT_QUEUES},
        "Queues drained at once.",
    ),
    query("maxJobsPerQueue", {"type": "integer", "minimum": 1}, "Stop a queue after this many."),
]
openapi = {
    "/api/drain": {
        "post": {
            "summary": "Drain now, as the cron endpoint does (refused in read-only mode).",
            "parameters": DRAIN_PARAMETERS,
            "responses": {"200": DRAIN_RESULT, **errors(400, 403)},
        }
    },
}
openapi_outside_base = {
    "/api/v1/cron/drain-queues": {
        "post": {
            "summary": "Drains what is queued now, then stops; 12 calls a minute per client.",
            "security": [{"cron": []}],
            "parameters": [*DRAIN_PARAMETERS, CONNECTION],
            "responses": {"200": DRAIN_RESULT, **errors(400, 404, 500)},
        }
    },
}
