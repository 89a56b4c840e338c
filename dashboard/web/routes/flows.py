"""A job's flow: its parent and its children, one level and one page of children per request."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.bullmq import flows
from dashboard.web import params
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import job_id_of, job_not_found, queue_route
from dashboard.web.openapi.parts import JOB_ID, QUEUE, errors, json_body, query
from dashboard.web.paths import root_of


async def _level(request: Request, board: Board, queue: str) -> tuple[flows.FlowLevel, bool]:
    """The requested level, and whether this page continues a group the previous one began."""
    job_id = job_id_of(request)
    query = request.query_params
    limit = params.positive_int(query, "children", flows.DEFAULT_CHILDREN, flows.MAX_CHILDREN)
    try:
        cursor = flows.Cursor.parse(query.get("cursor"))
    except flows.BadCursor as bad:
        raise params.bad_request(str(bad)) from None
    level = await flows.flow_level(board.redis, board.reader.keys(queue), job_id, limit, cursor)
    if level is None:
        raise job_not_found(queue, job_id)
    return level, bool(cursor.position or cursor.skip)


@queue_route
async def flow_json(request: Request, board: Board, queue: str) -> Response:
    level, _ = await _level(request, board, queue)
    return JSONResponse(level.as_json())


@queue_route
async def flow_section(request: Request, board: Board, queue: str) -> Response:
    """The job page's flow panel (nothing when the job is in no flow)."""
    level, _ = await _level(request, board, queue)
    return _fragment(request, board, "partials/flow.html", level, continued=False)


@queue_route
async def flow_children(request: Request, board: Board, queue: str) -> Response:
    """Rows of children: a child's own level when expanded, or the next page ("more")."""
    level, continued = await _level(request, board, queue)
    return _fragment(request, board, "partials/flow_children.html", level, continued)


def _fragment(
    request: Request, board: Board, template: str, level: flows.FlowLevel, continued: bool
) -> Response:
    return request.app.state.templates.TemplateResponse(
        request,
        template,
        {
            "level": level,
            "continued": continued,
            "base": root_of(request.scope),
            "prefix": board.settings.prefix,
        },
    )


routes = [
    Route("/api/queues/{queue}/jobs/{job_id}/flow", flow_json, name="flow_json"),
    Route("/queue/{queue}/jobs/{job_id}/flow", flow_section, name="flow_section"),
    Route("/queue/{queue}/jobs/{job_id}/flow/children", flow_children, name="flow_children"),
]

_GROUP_COUNTS = {
    "type": "object",
    "required": list(flows.GROUPS),
    "properties": {group: {"type": "integer", "minimum": 0} for group in flows.GROUPS},
}
openapi = {
    "/api/queues/{queue}/jobs/{job_id}/flow": {
        "get": {
            "summary": "The job's parent and one page of its children, grouped as BullMQ keeps "
            "them (processed, pending, failed, ignored).",
            "parameters": [
                QUEUE,
                JOB_ID,
                query(
                    "children",
                    {"type": "integer", "minimum": 1, "maximum": flows.MAX_CHILDREN},
                    f"Children per page (default {flows.DEFAULT_CHILDREN}).",
                ),
                query("cursor", {"type": "string"}, "The `cursor` of the previous page."),
            ],
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": [
                            "id",
                            "queue",
                            "name",
                            "state",
                            "parent",
                            "children",
                            "counts",
                            "cursor",
                        ],
                        "properties": {
                            "id": {"type": "string"},
                            "queue": {"type": "string"},
                            "name": {"type": "string"},
                            "state": {"type": "string"},
                            "parent": {
                                "type": "object",
                                "nullable": True,
                                "required": ["id", "queue"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "queue": {"type": "string"},
                                },
                            },
                            "children": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["id", "queue", "name", "state", "childCount"],
                                    "properties": {
                                        "id": {"type": "string"},
                                        "queue": {"type": "string"},
                                        "name": {"type": "string", "nullable": True},
                                        "state": {"type": "string"},
                                        "childCount": {"type": "integer", "minimum": 0},
                                    },
                                },
                            },
                            "counts": _GROUP_COUNTS,
                            "cursor": {"type": "string", "nullable": True},
                        },
                    }
                ),
                **errors(400, 404),
            },
        }
    }
}
