"""The Redis health panel at /redis and `GET api/redis`: one INFO per request, never polled."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.i18n import N_
from dashboard.observe.redis_health import read_health
from dashboard.web.answers import JSONResponse
from dashboard.web.lookup import board_of
from dashboard.web.openapi.parts import errors, json_body
from dashboard.web.render import render


async def redis_page(request: Request) -> Response:
    health = await read_health(board_of(request).redis)
    refused = health if isinstance(health, str) else None
    context = {"health": None if refused else health, "refused": refused, "title": N_("Redis")}
    return render(request, "redis.html", context)


async def redis_json(request: Request) -> Response:
    health = await read_health(board_of(request).redis)
    if isinstance(health, str):
        raise HTTPException(503, detail=health)
    return JSONResponse(health.as_json())


routes = [
    Route("/redis", redis_page, name="redis_page"),
    Route("/api/redis", redis_json, name="redis_json"),
]

openapi = {
    "/api/redis": {
        "get": {
            "summary": "The Redis server's health from one INFO (1 command).",
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": [
                            "version",
                            "memory",
                            "warning",
                            "connectedClients",
                            "opsPerSec",
                            "uptimeSeconds",
                            "persistence",
                        ],
                    }
                ),
                **errors(),
            },
        }
    }
}
