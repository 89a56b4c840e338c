"""The quota view at /quota and `GET api/quota?seconds=N`: who spends the Redis quota over a
window the SRE chooses, the month at that rate, and what to change. Nothing is measured until
someone asks for a window."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.i18n import N_
from dashboard.observe.cost import DEFAULT_PRICE_PER_100K, DEFAULT_QUOTA, Assumptions
from dashboard.observe.measure import MEASUREMENT_COST, measure
from dashboard.observe.quota import MAX_SECONDS, MIN_SECONDS, report
from dashboard.web import params
from dashboard.web.answers import JSONResponse
from dashboard.web.lookup import board_of, own_counts, whole_board
from dashboard.web.openapi.parts import errors, json_body, query
from dashboard.web.render import render


def _seconds(request: Request, required: bool) -> int | None:
    raw = request.query_params.get("seconds")
    if not required and raw in (None, ""):
        return None
    return params.required_whole(raw, "seconds", MIN_SECONDS, MAX_SECONDS)


def _assumptions(request: Request) -> Assumptions:
    """The quota and price: the server's settings unless the request names others."""
    settings = board_of(request).settings
    query_params = request.query_params
    quota = query_params.get("quota")
    price = query_params.get("price_per_100k")
    return Assumptions(
        quota=params.whole_number(quota, "quota", 1, 10**12) if quota else settings.quota,
        price_per_100k=params.decimal(price, "price_per_100k", 0, 1000)
        if price
        else settings.price_per_100k,
    )


async def _measured(request: Request, seconds: int, a: Assumptions) -> dict[str, Any]:
    board = board_of(request)
    # Connections are told apart by every queue's name, then those of queues outside the
    # reader's grants left out: unrecognised, they would be listed under their own names.
    queues = await whole_board(request).catalog.names()
    own = own_counts(request)
    result = await measure(board.redis, board.settings.prefix, queues, seconds, own=own)
    data = report(result, board.settings.prefix, queues, a)
    seen = {None, *await board.catalog.names()}
    data["clients"] = [row for row in data["clients"] if row["queue"] in seen]
    return data


async def quota_page(request: Request) -> Response:
    seconds = _seconds(request, required=False)
    a = _assumptions(request)
    data = await _measured(request, seconds, a) if seconds else None
    context = {
        "title": N_("Quota"),
        "a": a,
        "seconds": seconds or 60,
        "data": data,
        "bounds": (MIN_SECONDS, MAX_SECONDS),
        "cost_per_primary": MEASUREMENT_COST,
    }
    return render(request, "quota.html", context)


async def api_quota(request: Request) -> Response:
    seconds = _seconds(request, required=True)
    assert seconds is not None
    return JSONResponse(await _measured(request, seconds, _assumptions(request)))


routes = [
    Route("/quota", quota_page, name="quota_page"),
    Route("/api/quota", api_quota, name="api_quota"),
]

openapi = {
    "/api/quota": {
        "get": {
            "summary": "Who spends the Redis quota: per client over a measured window, the "
            "month at that rate, and what to change. Measuring costs 4 commands per primary.",
            "parameters": [
                {
                    **query(
                        "seconds",
                        {"type": "integer", "minimum": MIN_SECONDS, "maximum": MAX_SECONDS},
                        "The window to measure, in seconds; the answer comes after it.",
                    ),
                    "required": True,
                },
                query(
                    "quota",
                    {"type": "integer", "minimum": 1, "maximum": 10**12},
                    f"Commands a month the plan allows (default: the server's --quota, "
                    f"{DEFAULT_QUOTA:,} unless set).",
                ),
                query(
                    "price_per_100k",
                    {"type": "number", "minimum": 0, "maximum": 1000},
                    f"Dollars per 100,000 commands (default: the server's --price-per-100k, "
                    f"{DEFAULT_PRICE_PER_100K} unless set).",
                ),
            ],
            "responses": {"200": json_body({"type": "object"}), **errors(400)},
        }
    },
}
