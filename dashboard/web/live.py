"""Server-Sent Events that tell a visible page its data changed; the page then re-renders itself.

The stream costs Redis nothing per viewer: every stream listens to the one shared watcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from dashboard.web.lookup import board_of

KEEP_ALIVE_S = 25


async def live(request: Request) -> Response:
    board = board_of(request)
    queue = request.query_params.get("queue") or None
    if queue is not None and not await board.catalog.contains(queue):
        raise HTTPException(404, detail=f"There is no queue named {queue!r} under this prefix.")

    async def events() -> AsyncIterator[str]:
        async with board.watcher.subscribe(queue) as subscription:
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


routes = [Route("/live", live)]
