"""Routes outside the base path for the platform: liveness and Prometheus metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from dashboard.web.lookup import board_of


async def healthz(request: Request) -> Response:
    """Liveness without touching Redis: a probe every 10 s would cost 260K commands a month.

    `?redis=1` adds one PING for readiness checks that really need it.
    """
    if request.query_params.get("redis") not in ("1", "true"):
        return JSONResponse({"ok": True})
    await board_of(request).redis.ping()
    return JSONResponse({"ok": True, "redis": "up"})


async def metrics(request: Request) -> Response:
    """Job counts per queue and state; one pipelined round trip of 10 commands per queue."""
    board = board_of(request)
    summaries = await board.reader.summaries(await board.catalog.names())
    lines = [
        "# HELP bullmq_jobs Jobs per queue and state, as Node BullMQ's getJobCounts() counts them.",
        "# TYPE bullmq_jobs gauge",
    ]
    for summary in summaries:
        for state, count in summary.counts.items():
            lines.append(f'bullmq_jobs{{queue="{_label(summary.name)}",state="{state}"}} {count}')
    lines += [
        "# HELP bullmq_queue_paused 1 when the queue is paused.",
        "# TYPE bullmq_queue_paused gauge",
    ]
    lines += [
        f'bullmq_queue_paused{{queue="{_label(s.name)}"}} {int(s.is_paused)}' for s in summaries
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


routes = [Route("/healthz", healthz), Route("/metrics", metrics)]
