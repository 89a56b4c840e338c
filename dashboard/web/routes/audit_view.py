"""The audit trail at /audit and `GET api/audit`: every change made through the dashboard,
newest first, filtered by who, queue, action and outcome. One command a page (observe/audit.py)."""

from __future__ import annotations

import re
from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.bullmq.discovery import SeenBy
from dashboard.i18n import N_
from dashboard.observe.audit import FILTERS, OUTCOMES, TrailPage, read
from dashboard.web import params
from dashboard.web.answers import JSONResponse
from dashboard.web.lookup import board_of
from dashboard.web.openapi.parts import errors, json_body, query
from dashboard.web.render import render

STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")
FILTER_KEPT = 200


def _filters(request: Request) -> dict[str, str]:
    chosen = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    for name, value in chosen.items():
        if len(value) > FILTER_KEPT:
            raise params.bad_request(f"{name} may be at most {FILTER_KEPT} characters long.")
    if chosen["outcome"] and chosen["outcome"] not in OUTCOMES:
        raise params.bad_request(f"outcome must be one of: {', '.join(OUTCOMES)}.")
    return chosen


def _before(request: Request) -> str | None:
    before = request.query_params.get("before") or None
    if before is not None and not _stream_id(before):
        raise params.bad_request(
            "before must be an entry id from this trail, such as 1700000000000-0."
        )
    return before


def _stream_id(text: str) -> bool:
    """An id Redis can read back from: two 64-bit numbers, and something before it."""
    if not STREAM_ID.fullmatch(text):
        return False
    ms, seq = (int(part) for part in text.split("-"))
    return max(ms, seq) < 2**64 and (ms, seq) != (0, 0)


async def _page(request: Request) -> tuple[dict[str, str], TrailPage]:
    filters, before = _filters(request), _before(request)
    board = board_of(request)
    page = await read(board.redis, board.settings.prefix, filters, before)
    # Changes to queues outside the reader's grants are as invisible as those queues.
    catalog = board.catalog
    if isinstance(catalog, SeenBy):
        page.entries = [
            e for e in page.entries if e.get("queue") is None or catalog.sees(e["queue"])
        ]
    return filters, page


async def audit_page(request: Request) -> Response:
    filters, page = await _page(request)
    context = {
        "title": N_("Audit trail"),
        "filters": filters,
        "outcomes": OUTCOMES,
        "page": page,
        "first": not request.query_params.get("before"),
    }
    return render(request, "audit.html", context)


async def api_audit(request: Request) -> Response:
    _, page = await _page(request)
    return JSONResponse(asdict(page))


routes = [
    Route("/audit", audit_page, name="audit_page"),
    Route("/api/audit", api_audit, name="api_audit"),
]

_TEXT = {"type": "string"}
openapi = {
    "/api/audit": {
        "get": {
            "summary": "The audit trail, newest first: who changed what, when, from where, and "
            "how it ended. Each call reads 200 entries (one command) and keeps those matching "
            "the filters; `older` continues from there.",
            "parameters": [
                query("user", _TEXT, "Only changes by this user (a name, `API token`, …)."),
                query("queue", _TEXT, "Only changes to this queue."),
                query("action", _TEXT, "Only this action (a route name, such as `retry_job`)."),
                query("outcome", {"type": "string", "enum": list(OUTCOMES)}, "Only these."),
                query("before", {"type": "string", "pattern": STREAM_ID.pattern}, "Older ones."),
            ],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["entries", "older"],
                        "properties": {
                            "entries": {"type": "array", "items": {"type": "object"}},
                            "older": {"type": ["string", "null"]},
                        },
                    }
                ),
                **errors(400),
            },
        }
    },
}
