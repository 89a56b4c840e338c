"""Who serves each queue: /workers (every queue), /queue/{q}/workers and `GET
api/queues/{q}/workers`. One CLIENT LIST per request, never polled; the pages also read the
counts (9 commands a queue) and the drain history (2) to warn about a queue whose waiting jobs
nothing will take: no worker connected and no scheduled (cron) drain in the last hour."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.i18n import N_
from dashboard.observe import clients
from dashboard.observe.unserved import cron_drained_recently, nothing_takes
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import board_of, queue_route
from dashboard.web.openapi.parts import QUEUE, errors, json_body
from dashboard.web.render import render

JSON_KINDS = {
    "node-worker": "nodeWorkers",
    "python-worker": "pythonWorkers",
    "queue-events": "queueEvents",
    "drainboard": "drainboard",
}


async def _rows(board: Board, queues: list[str]) -> dict[str, Any]:
    found = await clients.read_clients(board.redis, board.settings.prefix, queues)
    if isinstance(found, str):
        return {"refused": found, "rows": []}
    summaries = await board.reader.summaries(queues)
    scheduled = await cron_drained_recently(board.engine)
    rows = []
    for summary in summaries:
        rows.append(
            {
                "queue": summary,
                "by_kind": clients.for_queue(found, summary.name),
                "unserved": nothing_takes(summary, found, scheduled),
                "waiting": summary.counts["waiting"] + summary.counts["prioritized"],
            }
        )
    return {"refused": None, "rows": rows, "scheduled": scheduled, "own": clients.own(found)}


async def all_workers(request: Request) -> Response:
    board = board_of(request)
    context = await _rows(board, await board.catalog.names())
    return render(request, "workers.html", {**context, "title": N_("Workers"), "single": None})


@queue_route
async def queue_workers(request: Request, board: Board, queue: str) -> Response:
    context = await _rows(board, [queue])
    # The queue's tab strip, as on its other tabs: with the counts just read, or read now.
    rows = context["rows"]
    [summary] = [rows[0]["queue"]] if rows else await board.summaries([queue], live=False)
    return render(
        request,
        "workers.html",
        {
            **context,
            "title": N_("%(queue)s · workers", queue=queue),
            "single": queue,
            "summary": summary,
            "status": "workers",
        },
    )


@queue_route
async def queue_workers_json(request: Request, board: Board, queue: str) -> Response:
    found = await clients.read_clients(board.redis, board.settings.prefix, [queue])
    if isinstance(found, str):
        raise HTTPException(503, detail=found)
    by_kind = clients.for_queue(found, queue)
    by_kind["drainboard"] += clients.own(found)
    return JSONResponse(
        {
            "queue": queue,
            **{JSON_KINDS[k]: [c.as_json() for c in cs] for k, cs in by_kind.items()},
        }
    )


routes = [
    Route("/workers", all_workers, name="all_workers"),
    Route("/queue/{queue}/workers", queue_workers, name="queue_workers"),
    Route("/api/queues/{queue}/workers", queue_workers_json, name="queue_workers_json"),
]

CONNECTION = {
    "type": "object",
    "required": ["kind", "name", "address", "ageSeconds", "idleSeconds", "lastCommand"],
}
openapi = {
    "/api/queues/{queue}/workers": {
        "get": {
            "summary": "The queue's workers, QueueEvents listeners and Drainboard's own "
            "connections, from one CLIENT LIST.",
            "parameters": [QUEUE],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["queue", *JSON_KINDS.values()],
                        "properties": {
                            "queue": {"type": "string"},
                            **{
                                k: {"type": "array", "items": CONNECTION}
                                for k in JSON_KINDS.values()
                            },
                        },
                    }
                ),
                **errors(404),
            },
        }
    }
}
