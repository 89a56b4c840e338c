"""Live updates: Server-Sent Events that tell a visible page its queue changed, and the small
fragment a queue page then fetches: its counts, kept by the watcher, and "N new jobs: show".

Neither costs Redis anything per viewer: every stream listens to the one shared watcher, and
the counts come from its own reads. Rows are never re-read on a notice; the page offers them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from dashboard.bullmq.discovery import SeenBy
from dashboard.observe.unserved import takeable
from dashboard.web import params
from dashboard.web.board import Board
from dashboard.web.lookup import board_of, queue_route
from dashboard.web.render import render
from dashboard.writes.actions import no_such_queue

KEEP_ALIVE_S = 25


async def live(request: Request) -> Response:
    board = board_of(request)
    queue = request.query_params.get("queue") or None
    job_id = request.query_params.get("job") or None
    if queue is not None and not await board.catalog.contains(queue):
        raise HTTPException(404, detail=no_such_queue(queue))
    if job_id is not None and queue is None:
        raise params.bad_request("job needs queue: a job id names a job within one queue.")
    on = request.query_params.getlist("on")
    if len(on) > params.MAX_PAGE_SIZE:
        raise params.bad_request(f"on names at most {params.MAX_PAGE_SIZE} queues.")
    # The queues an overview page shows; names no longer known simply never change. A reader
    # whose grants leave queues out hears only of the ones they see.
    among = frozenset(on) if on and queue is None else None
    if queue is None and isinstance(board.catalog, SeenBy):
        seen = frozenset(await board.catalog.names())
        among = seen if among is None else among & seen

    async def events() -> AsyncIterator[str]:
        async with board.watcher.subscribe(queue, job_id, among=among) as subscription:
            yield "retry: 5000\n: listening\n\n"
            while True:
                try:
                    await asyncio.wait_for(subscription.changed.wait(), KEEP_ALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                subscription.changed.clear()
                yield f"event: changed\ndata: {queue or '*'}\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


@queue_route
async def queue_head(request: Request, board: Board, queue: str) -> Response:
    """A queue page's head (counts, actions, tabs) as of now, and how its rows compare with
    what the page shows: `count` jobs in `status`, `seen` arrivals into it, when it was read."""
    query = request.query_params
    status = params.status(query, "waiting")
    page, page_size = params.paging(query, params.PAGE_SIZE)
    count = params.non_negative_int(query, "count", 0)
    seen = params.non_negative_int(query, "seen", 0)
    watcher = board.watcher
    (summary,) = await board.summaries([queue], live=True)
    now = summary.listed(status)
    fresh = max(now - count, watcher.arrivals(queue, status) - seen, 0)
    shown = {"count": count, "seen": seen, "page": page, "pageSize": page_size}
    # The page's latency reading holds while no job was taken since (the same job is still the
    # oldest, older by now); after a take only a reload can say, for a read of its own.
    latency = None
    due, taken = query.get("due"), query.get("taken")
    if due and taken and takeable(summary):
        latency_due = params.non_negative_int(query, "due", 0, 10**15)
        if params.non_negative_int(query, "taken", 0) == watcher.arrivals(queue, "active"):
            latency = {"due": latency_due, "taken": watcher.arrivals(queue, "active")}
    context = {
        "queue": summary,
        "default_page_size": params.PAGE_SIZE,
        "status": status,
        "shown": shown,
        "fresh": fresh,
        "moved": fresh > 0 or now != count,
        "removed": query.get("removed"),  # the notice of a removal survives the refresh
        "title": queue,
        "latency": latency,
        "now_ms": int(time.time() * 1000),
    }
    return render(request, "partials/queue_head.html", context)


routes = [
    Route("/live", live, name="live"),
    Route("/live/queue/{queue}", queue_head, name="queue_head"),
]
