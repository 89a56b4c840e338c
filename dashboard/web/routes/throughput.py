"""A queue's Metrics tab: BullMQ's per-minute throughput, Drainboard's own drain runs, and
`GET api/queues/{q}/metrics`, which answers exactly what Node's `queue.getMetrics` answers.

The page itself reads nothing; each chart is fetched by htmx only once it is on screen
(`hx-trigger="intersect once"`): the throughput chart in one round trip of 6 commands, the drain
chart in one of 2."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.bullmq import metrics as bullmq_metrics
from dashboard.bullmq.keys import METRIC_KINDS
from dashboard.drain.engine import HISTORY_LENGTH
from dashboard.i18n import N_
from dashboard.web import charts, params
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import queue_route
from dashboard.web.openapi.parts import QUEUE, errors, json_body, query
from dashboard.web.render import render


@queue_route
async def metrics_page(request: Request, board: Board, queue: str) -> Response:
    # The queue's tab strip, as on its other tabs, with counts read now (9 commands): the
    # watcher's may be older than a drain that just ran.
    [summary] = await board.summaries([queue], live=False)
    context = {"queue": queue, "summary": summary, "status": "metrics"}
    return render(
        request, "metrics.html", {**context, "title": N_("%(queue)s · metrics", queue=queue)}
    )


@queue_route
async def throughput_chart(request: Request, board: Board, queue: str) -> Response:
    recorded = await bullmq_metrics.read_day(board.redis, board.settings.prefix, queue)
    series = {kind: m.per_minute() for kind, m in recorded.items()}
    now = bullmq_metrics.now_minute()
    oldest = min((min(s) for s in series.values() if s), default=None)
    context = {
        "queue": queue,
        "recorded": any(m.recorded for m in recorded.values()),
        "metrics": recorded,
        "charts": [
            charts.per_minute_chart(series, now, 60, N_("Last hour")),
            charts.per_minute_chart(
                series, now, bullmq_metrics.MINUTES_PER_DAY, N_("Last 24 hours")
            ),
        ],
        "since_ms": oldest * bullmq_metrics.MINUTE_MS if oldest is not None else None,
    }
    return render(request, "partials/throughput_chart.html", context)


@queue_route
async def drain_chart(request: Request, board: Board, queue: str) -> Response:
    runs, _ = await board.engine.history()
    mine = [
        (run["at"], q["jobsProcessed"], q["jobsFailed"])
        for run in reversed(runs)
        if (q := run.get("queues", {}).get(queue)) and q.get("jobsProcessed")
    ]
    bars, peak = charts.run_bars(mine)
    context = {
        "queue": queue,
        "bars": bars,
        "peak": peak,
        "kept": HISTORY_LENGTH,
        "oldest": runs[-1]["at"] if runs else None,
    }
    return render(request, "partials/drain_chart.html", context)


@queue_route
async def metrics_json(request: Request, board: Board, queue: str) -> Response:
    kind = request.query_params.get("type", "completed")
    if kind not in METRIC_KINDS:
        raise params.bad_request(f"type must be completed or failed; got {kind[:40]!r}.")
    start = params.list_index(request.query_params, "start", 0)
    end = params.list_index(request.query_params, "end", -1)
    found = await bullmq_metrics.read(board.redis, board.settings.prefix, queue, kind, start, end)
    return JSONResponse(found.as_json())


routes = [
    Route("/queue/{queue}/metrics", metrics_page, name="metrics_page"),
    Route("/queue/{queue}/metrics/throughput", throughput_chart, name="throughput_chart"),
    Route("/queue/{queue}/metrics/drains", drain_chart, name="drain_chart"),
    Route("/api/queues/{queue}/metrics", metrics_json, name="metrics_json"),
]

INDEX = {"type": "string", "pattern": "^-?[0-9]+$"}
openapi = {
    "/api/queues/{queue}/metrics": {
        "get": {
            "summary": "BullMQ's per-minute metrics, as Node's queue.getMetrics answers "
            "(3 commands).",
            "parameters": [
                QUEUE,
                query("type", {"type": "string", "enum": list(METRIC_KINDS)}, "Which metric."),
                query(
                    "start", INDEX, "First data point (0 = newest minute); negative from the end."
                ),
                query("end", INDEX, "Last data point; -1 = the oldest."),
            ],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["meta", "data", "count"],
                        "properties": {
                            "meta": {
                                "type": "object",
                                "required": ["count", "prevTS", "prevCount"],
                                "properties": {
                                    "count": {"type": "integer"},
                                    "prevTS": {"type": "integer"},
                                    "prevCount": {"type": "integer"},
                                },
                            },
                            "data": {"type": "array", "items": {"type": "integer"}},
                            "count": {"type": "integer", "minimum": 0},
                        },
                    }
                ),
                **errors(400, 404),
            },
        }
    }
}
