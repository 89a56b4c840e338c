"""`GET <base>/api/openapi.json`: the OpenAPI document of every documented route module."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.web.answers import JSONResponse
from dashboard.web.lookup import board_of
from dashboard.web.openapi.document import document
from dashboard.web.openapi.parts import errors, json_body
from dashboard.web.paths import root_of


async def openapi_json(request: Request) -> Response:
    board = board_of(request)
    root = root_of(request.scope)
    queues = await board.catalog.names()
    # The app keeps the registry's documented modules: importing the registry here would be a
    # cycle, since the registry lists this module.
    modules = request.app.state.documented_modules
    roles = request.app.state.roles_by_operation
    return JSONResponse(document(root, board.settings.base_path, modules, queues, roles))


openapi = {
    "/api/openapi.json": {
        "get": {
            "summary": "This document.",
            "responses": {"200": json_body({"type": "object"}), **errors()},
        }
    }
}

routes = [Route("/api/openapi.json", openapi_json, name="openapi")]
