"""Routes outside the base path for the platform: liveness and Prometheus metrics."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.web.answers import JSONResponse
from dashboard.web.lookup import board_of, boards_of


async def healthz(request: Request) -> Response:
    """Liveness without touching Redis: a probe every 10 s would cost 260K commands a month.

    `?redis=1` adds one PING for readiness checks that really need it. `pid` says which process
    answered, behind a load balancer or under `serve --workers N`.
    """
    if request.query_params.get("redis") not in ("1", "true"):
        return JSONResponse({"ok": True, "pid": os.getpid()})
    await board_of(request).redis.ping()
    return JSONResponse({"ok": True, "pid": os.getpid(), "redis": "up"})


async def metrics(request: Request) -> Response:
    """Prometheus text. Idle queues cost no Redis command: counts are kept in memory and
    re-read only for the queues whose events stream moved since the last scrape. With several
    Redis connections, every connection's, labelled `connection`."""
    exporters = [board.exporter for board in boards_of(request).values()]
    body = await request.app.state.metrics.scrape(exporters)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


routes = [Route("/healthz", healthz, name="healthz"), Route("/metrics", metrics, name="metrics")]
