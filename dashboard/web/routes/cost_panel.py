"""The cost panel at /cost, `GET api/cost`, and the SVG chart they draw."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.i18n import N_
from dashboard.observe.cost import (
    MINUTES_PER_MONTH,
    PROFILES,
    Assumptions,
    projection,
    recommendation,
)
from dashboard.observe.measure import measure
from dashboard.text import quoted
from dashboard.web import params
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import board_of, own_counts
from dashboard.web.openapi.parts import errors, json_body, query
from dashboard.web.render import render

MAX_MEASURE_S = 120
# Bounds of each what-if input: (minimum, maximum).
BOUNDS: dict[str, tuple[float, float]] = {
    "queues": (1, 1000),
    "workers_per_queue": (1, 1000),
    "drain_delay_s": (0.1, 3600),
    "stalled_interval_ms": (1000, 3_600_000),
    "queue_events": (0, 10_000),
    "cron_interval_min": (1, 1440),
    "on_demand_startups_per_day": (0, 100_000),
    "scheduled_runs_per_day": (0, 1_440_000),
    "quota": (1, 10**12),
    "price_per_100k": (0, 1000),
}


def assumptions(query: QueryParams) -> Assumptions:
    """The what-if form's values, each checked; a bad one is a 400 that names it."""
    values: dict[str, Any] = {}
    for spec in fields(Assumptions):
        raw = query.get(spec.name)
        if raw in (None, ""):
            continue
        if spec.name == "worker":
            if raw not in PROFILES:
                raise params.bad_request(
                    f"worker must be one of {', '.join(PROFILES)}; got {quoted(raw)}."
                )
            values["worker"] = raw
        elif spec.name == "delayed_jobs":
            values["delayed_jobs"] = raw in ("1", "true", "on", "yes")
        else:
            low, high = BOUNDS[spec.name]
            number = params.decimal(raw, spec.name, low, high)
            values[spec.name] = int(number) if spec.type in (int, "int") else number
    return Assumptions(**values)


async def live_measurement(request: Request, a: Assumptions) -> dict[str, Any] | None:
    seconds = request.query_params.get("measure")
    if not seconds:
        return None
    duration = params.positive_int(request.query_params, "measure", 10, MAX_MEASURE_S)
    board = board_of(request)
    names = await board.catalog.names()
    own = own_counts(request)
    result = await measure(board.redis, board.settings.prefix, names, duration, own=own)
    return result.as_json(a)


def open_dashboard(board: Board) -> dict[str, Any]:
    """What this dashboard's open pages cost now, from its own counts over the last minute: the
    shared change watcher (blocking reads and count refreshes) and the pages it served (loads,
    and live refreshes that missed the watcher's counts)."""
    watcher = board.watcher.commands_per_minute()
    pages = board.pages_spent.total()
    per_minute = watcher + pages
    return {
        "watcherPerMinute": watcher,
        "pagesPerMinute": pages,
        "openPages": len(board.watcher.subscriptions),
        "intervalSeconds": board.watcher.interval_s,
        "perMinute": per_minute,
        "perMonth": round(per_minute * MINUTES_PER_MONTH),
    }


def chart(modes: list[dict[str, Any]], quota: int) -> dict[str, Any]:
    """Bars on a log scale (1 to 100M commands a month) and where the quota line falls. Each
    mode's figures are written here once, as text: the chart and the table print these same
    strings, so they cannot disagree."""
    top = 10 ** max(
        8, math.ceil(math.log10(max([quota, *(m["perMonth"]["executed"] for m in modes)])))
    )
    decades = int(math.log10(top))

    def x(value: float) -> float:
        return round(1000 * math.log10(max(value, 1)) / decades, 1)

    return {
        "bars": [
            {
                **m,
                "width": x(m["perMonth"]["executed"]),
                "over": m["perMonth"]["executed"] > quota,
                "shown": {
                    "clientPerMinute": f"{m['perMinute']['client']:,.1f}",
                    "perMinute": f"{m['perMinute']['executed']:,.1f}",
                    "perMonth": f"{round(m['perMonth']['executed']):,}",
                    "quota": f"{m['quotaShare'] * 100:.1f}%",
                    "dollars": f"${m['dollars']:,.2f}",
                },
            }
            for m in modes
        ],
        "quotaX": x(quota),
        "ticks": [_short(10**d) for d in range(0, decades + 1, 2)],
    }


def _short(n: float) -> str:
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:g}{unit}"
    return f"{n:g}"


async def panel(request: Request) -> Response:
    try:
        a = assumptions(request.query_params)
    except HTTPException as bad:
        # The what-if form swaps in #projection: the sentence goes there, in place of the chart.
        context = {"title": N_("Cost"), "a": Assumptions(), "error": bad.detail, "query": ""}
        response = render(request, "cost.html", context)
        response.status_code = bad.status_code
        return response
    data = projection(a)
    context = {
        "title": N_("Cost"),
        "a": a,
        "data": data,
        "chart": chart(data["modes"], a.quota),
        "advice": recommendation(a),
        "query": str(request.query_params),
    }
    return render(request, "cost.html", context)


async def live_fragment(request: Request) -> Response:
    a = assumptions(request.query_params)
    live = await live_measurement(request, a)
    context = {"live": live, "a": a, "dashboard": open_dashboard(board_of(request))}
    return request.app.state.templates.TemplateResponse(request, "partials/cost_live.html", context)


async def api_cost(request: Request) -> Response:
    a = assumptions(request.query_params)
    data = projection(a)
    live = await live_measurement(request, a)
    data["measured"] = live
    data["dashboard"] = open_dashboard(board_of(request))
    data["recommendation"] = recommendation(a, live["executedPerMonth"] if live else None)
    return JSONResponse(data)


routes = [
    Route("/cost", panel, name="panel"),
    Route("/cost/live", live_fragment, name="live_fragment"),
    Route("/api/cost", api_cost, name="api_cost"),
]

openapi = {
    "/api/cost": {
        "get": {
            "summary": "The idle-cost projection for the what-if assumptions.",
            "parameters": [
                query(name, {"type": "number", "minimum": low, "maximum": high}, name)
                for name, (low, high) in BOUNDS.items()
            ],
            "responses": {"200": json_body({"type": "object"}), **errors(400)},
        }
    },
}
