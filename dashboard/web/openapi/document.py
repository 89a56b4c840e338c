"""The OpenAPI document of the JSON API, at `GET <base>/api/openapi.json`.

Each route module describes its own JSON routes next to them, in a module-level `openapi` dict
(path relative to the base path → OpenAPI path item), using the shared pieces below (`ERROR`,
`QUEUE`, `JOB_ID`, `json_body`, `errors`). This module only puts them together.
To describe a new module's routes: give it an `openapi` dict and add the module to
`documented_modules()` here. Routes outside the base path (the cron endpoint) go in a second
dict, `openapi_outside_base`. CI fuzzes every route listed (tests/integration/test_fuzz.py).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# `{"error": "<one sentence>", "status": n}`: the only shape an error answer takes.
ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "additionalProperties": False,
    "properties": {"error": {"type": "string", "minLength": 1}, "status": {"type": "integer"}},
}
ERROR_TEXT = {
    400: "A parameter is wrong; the sentence says which.",
    401: "No valid credentials.",
    403: "Refused: read-only mode, CSRF, or a cross-site request.",
    404: "No such queue or job.",
    409: "The job is in the wrong state for this action.",
    413: "The request body is too large.",
    414: "The URL is too long.",
    429: "Too many calls, or too many wrong secrets, from this client.",
    431: "The request headers are too large.",
    500: "No REDIS_URL is configured (the cron endpoint only).",
    503: "Redis is unreachable, refused the password, or every connection stayed busy.",
}
# Every JSON route may answer these, whatever it does.
COMMON_ERRORS = (401, 413, 414, 429, 431, 503)

QUEUE = {
    "name": "queue",
    "in": "path",
    "required": True,
    "description": "The queue's name, percent-encoded as one path segment (`/` as `%2F`).",
    "schema": {"type": "string", "minLength": 1},
}
JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "description": "The job's id, percent-encoded as one path segment (`/` as `%2F`).",
    "schema": {"type": "string", "minLength": 1},
}


def json_body(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Any]:
    """The error answers a route gives besides COMMON_ERRORS, all with the ERROR body."""
    return {
        str(status): json_body({"$ref": "#/components/schemas/Error"}, ERROR_TEXT[status])
        for status in sorted({*statuses, *COMMON_ERRORS})
    }


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


def document(
    root_path: str, base_path: str, modules: tuple[ModuleType, ...], queues: list[str]
) -> dict[str, Any]:
    """`root_path` is where the dashboard's routes are (host mount + base path); `queues` become
    the examples of every `{queue}` parameter, so a fuzzer reaches real queues too."""
    outer = root_path[: len(root_path) - len(base_path)] if base_path else root_path
    paths: dict[str, Any] = {f"{root_path}/api/openapi.json": OWN_PATH}
    for module in modules:
        for prefix, described in (
            (root_path, module.openapi),
            (outer, getattr(module, "openapi_outside_base", {})),
        ):
            for path, item in described.items():
                paths.setdefault(prefix + path, {}).update(_with_examples(item, queues))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Drainboard JSON API",
            "version": "1",
            "description": "BullMQ queues and jobs. Errors are always "
            '`{"error": "<one sentence>", "status": n}`.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "cron": {"type": "apiKey", "in": "header", "name": "X-Cron-Secret"},
            },
        },
        "security": [{"token": []}],
    }


def _with_examples(item: dict[str, Any], queues: list[str]) -> dict[str, Any]:
    if not queues:
        return item
    examples = {f"queue{n}": {"value": name} for n, name in enumerate(queues[:20])}
    return {
        method: {
            **operation,
            "parameters": [
                {**p, "examples": examples} if p is QUEUE else p
                for p in operation.get("parameters", [])
            ],
        }
        for method, operation in item.items()
    }


def documented_modules() -> tuple[ModuleType, ...]:
    # Add a route module here once it has an `openapi` dict (imported here: they import us).
    from dashboard.web.routes import (
        actions,
        api,
        cost_panel,
        drains,
        flows,
        manage,
        redis_panel,
        schedulers,
        search,
        throughput,
        workers_view,
    )

    modules = (api, actions, drains, cost_panel, search, manage, schedulers, flows)
    return (*modules, throughput, redis_panel, workers_view)


async def openapi_json(request: Request) -> Response:
    board = request.app.state.board
    root = request.scope.get("root_path", "")
    queues = await board.catalog.names()
    return JSONResponse(document(root, board.settings.base_path, documented_modules(), queues))


OWN_PATH = {
    "get": {
        "summary": "This document.",
        "responses": {"200": json_body({"type": "object"}), **errors()},
    }
}

routes = [Route("/api/openapi.json", openapi_json)]
