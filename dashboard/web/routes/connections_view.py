"""Several Redis servers in one dashboard: the front page (one connection's overview, or every
connection's queues in groups), a connection's PING on demand, and `GET api/connections`.

A group is read with a deadline of its own, so a connection that is down is said plainly in its
group and never holds the others up; a connection nobody looks at is never read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator
from dataclasses import dataclass

from markupsafe import escape
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from dashboard.bullmq.reader import QueueSummary
from dashboard.i18n import translated
from dashboard.redis_client.connection import is_cluster
from dashboard.redis_client.counting import count_caused, count_reads, tally
from dashboard.web.answers import JSONResponse
from dashboard.web.board import Board
from dashboard.web.lookup import CONNECTION_DEADLINE_S, board_of, boards_of, unreachable_text
from dashboard.web.openapi.parts import errors, json_body
from dashboard.web.paths import connection_in, dashboard_root, segment
from dashboard.web.render import may, render
from dashboard.web.routes.live import KEEP_ALIVE_S
from dashboard.web.routes.pages import OVERVIEW_PAGE_SIZE, overview


@dataclass
class Group:
    """One connection's part of the front page."""

    board: Board
    base: str
    queues: list[QueueSummary]
    unserved: set[str]
    # When each queue's oldest waiting job became due (ms): its latency.
    due: dict[str, int]
    queue_total: int
    commands: int
    problem: str | None
    # The caller may drain this connection's queues from the front page.
    drainable: bool


async def home(request: Request) -> Response:
    """The front page: with several connections and none named in the URL, their groups;
    otherwise the one connection's overview, as with a single Redis."""
    boards = boards_of(request)
    if len(boards) == 1 or connection_in(request.scope) is not None:
        return await overview(request)
    root = dashboard_root(request.scope)
    groups = await asyncio.gather(
        *(
            _group(board, f"{root}/c/{segment(board.connection)}", may(request, board))
            for board in boards.values()
        )
    )
    return render(
        request,
        "connections.html",
        {
            "groups": groups,
            "title": "Queues",
            "page_size": OVERVIEW_PAGE_SIZE,
            "now_ms": int(time.time() * 1000),
        },
    )


async def _group(board: Board, base: str, allowed: dict[str, bool]) -> Group:
    """A connection's first page of queues (9 commands a queue, as on its own overview), or
    why it cannot be read; its commands are counted on their own and then for the page."""
    names: list[str] = []
    summaries: list[QueueSummary] = []
    unserved: set[str] = set()
    due: dict[str, int] = {}
    problem = None
    with tally() as own:
        try:
            async with asyncio.timeout(CONNECTION_DEADLINE_S):
                names = await board.catalog.names()
                summaries = await board.summaries(names[:OVERVIEW_PAGE_SIZE], live=False)
                unserved = set(await board.service_check.unserved(summaries, names, ask=True))
                due = await board.oldest_due(summaries, live=False)
        except (RedisError, OSError, TimeoutError) as err:
            problem = unreachable_text(err)
    count_caused(own.commands)
    drainable = bool(summaries) and not allowed["read_only"]
    return Group(
        board, base, summaries, unserved, due, len(names), own.commands, problem, drainable
    )


async def live_groups(request: Request) -> Response:
    """The front page's one change stream: every connection's watcher, each change told with
    its connection's name, so that its group alone reads itself again. One stream, not one a
    connection: a browser keeps at most six connections to a server over HTTP/1.1."""
    listening: list[tuple[str, frozenset[str], Board]] = []
    for board in boards_of(request).values():
        try:
            async with asyncio.timeout(CONNECTION_DEADLINE_S):
                names = await board.catalog.names()
        except (RedisError, OSError, TimeoutError):
            continue  # unreachable: its group says so, and a reload tries it again
        # A group shows its connection's first page of queues, and hears of those only.
        among = frozenset(names[:OVERVIEW_PAGE_SIZE])
        listening.append((str(board.connection), among, board))

    async def events() -> AsyncIterator[str]:
        async with contextlib.AsyncExitStack() as stack:
            heard = [
                (name, await stack.enter_async_context(board.watcher.subscribe(among=among)))
                for name, among, board in listening
            ]
            yield "retry: 5000\n: listening\n\n"
            while True:
                if not heard:  # every connection unreachable when the page opened
                    await asyncio.sleep(KEEP_ALIVE_S)
                    yield ": keep-alive\n\n"
                    continue
                waits = [asyncio.ensure_future(s.changed.wait()) for _, s in heard]
                try:
                    await asyncio.wait(waits, timeout=KEEP_ALIVE_S, return_when=FIRST_COMPLETED)
                finally:
                    for wait in waits:
                        wait.cancel()
                told = False
                for name, subscription in heard:
                    if subscription.changed.is_set():
                        subscription.changed.clear()
                        told = True
                        yield f"event: changed\ndata: {name}\n\n"
                if not told:
                    yield ": keep-alive\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


async def _ping(board: Board) -> tuple[float | None, str | None]:
    """One PING's round trip in milliseconds, or why there was none."""
    client = board.redis
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CONNECTION_DEADLINE_S):
            count_reads(1)
            if isinstance(client, RedisCluster):
                # One node answers for the connection: PING alone would ask every primary.
                await client.ping(target_nodes=RedisCluster.RANDOM)
            else:
                await client.ping()
    except (RedisError, OSError, TimeoutError) as err:
        return None, unreachable_text(err)
    return (time.perf_counter() - started) * 1000, None


async def ping(request: Request) -> Response:
    """The PING button of a connection's group: its latency, on demand (one command)."""
    board = board_of(request)
    latency, problem = await _ping(board)
    text = escape(translated(problem)) if latency is None else f"PING {latency:.1f} ms"
    css = "bad" if latency is None else "ok"
    return HTMLResponse(f'<span class="ping {css}" role="status">{text}</span>')


async def api_connections(request: Request) -> Response:
    """Each connection, its settings and its state: one PING each, sent at once."""
    boards = list(boards_of(request).values())
    pings = await asyncio.gather(*(_ping(board) for board in boards))
    return JSONResponse(
        {
            "connections": [
                {
                    "name": board.connection,
                    "reachable": latency is not None,
                    "latencyMs": None if latency is None else round(latency, 2),
                    "error": problem,
                    "prefix": board.settings.prefix,
                    "queues": len(board.catalog.cached()),
                    "readOnly": board.settings.read_only,
                    "cluster": is_cluster(board.redis),
                }
                for board, (latency, problem) in zip(boards, pings, strict=True)
            ]
        }
    )


routes = [
    Route("/", home, name="overview"),
    Route("/live/connections", live_groups, name="live_groups"),
    Route("/connections/ping", ping, name="connection_ping"),
    Route("/api/connections", api_connections, name="api_connections"),
]

openapi = {
    "/api/connections": {
        "get": {
            "summary": "The Redis connections and their state: one PING each, sent at once "
            "(`name` is null with one unnamed Redis URL).",
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["connections"],
                        "properties": {
                            "connections": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["name", "reachable", "queues"],
                                    "properties": {
                                        "name": {"type": "string", "nullable": True},
                                        "reachable": {"type": "boolean"},
                                        "latencyMs": {"type": "number", "nullable": True},
                                        "error": {"type": "string", "nullable": True},
                                        "prefix": {"type": "string"},
                                        "queues": {"type": "integer", "minimum": 0},
                                        "readOnly": {"type": "boolean"},
                                        "cluster": {"type": "boolean"},
                                    },
                                },
                            }
                        },
                    }
                ),
                **errors(),
            },
        }
    }
}
