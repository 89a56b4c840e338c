"""One sentence for every failure a user can meet, as JSON for the API and a page for people.

No stack trace leaves the server: unexpected errors are logged here and answered with a 500.
That answer is rendered by `CatchAll`, inside the security-headers middleware, and the error is
not re-raised: Starlette's own last-resort handler sits outside every middleware (no headers)
and re-raises, which makes the server drop the keep-alive connection.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus

from redis.exceptions import (
    AuthenticationError,
    ClusterError,
    NoPermissionError,
    OutOfMemoryError,
    RedisClusterException,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.i18n import N_
from dashboard.redis_client.connection import POOL_WAIT_S
from dashboard.redis_client.counting import commands_spent
from dashboard.web.answers import JSONResponse
from dashboard.web.paths import root_of

log = logging.getLogger("drainboard")

REDIS_DOWN = N_("Redis is unreachable; the dashboard will reconnect by itself when it is back.")
REDIS_LOST = N_(
    "The connection to Redis was lost during this request, though Redis answers: it closed "
    "the connection (a restart, a CLIENT KILL, an idle timeout); try again in a moment."
)
# How redis-py words a connection that dropped under a command, as opposed to one never made.
_DROPPED = ("Connection closed by server", "Connection reset by peer", "Broken pipe")
REDIS_AUTH = N_("Redis refused the credentials in the Redis URL (wrong or missing password).")
REDIS_CLUSTER_DOWN = N_(
    "Part of the Redis Cluster is down: the node holding these keys does not answer; "
    "the dashboard recovers by itself when the cluster heals."
)
REDIS_TIMEOUT = N_("Redis did not answer in time; it may be overloaded.")
REDIS_TLS = N_(
    "Redis's TLS certificate could not be verified: give the CA that signed it as ssl_ca_certs "
    "in the rediss:// URL."
)
NO_PAGE = N_("No page at this address.")
INTERNAL = N_("Something went wrong inside Drainboard; the details are in the server log.")
REDIS_OOM = N_(
    "Redis is out of memory (its used memory is over maxmemory and its policy evicts nothing), "
    "so it refused the write; nothing was changed. Free memory or raise maxmemory."
)
# Redis's own refusals. redis-py strips the code off the replies it has a class for
# (OutOfMemoryError, NoPermissionError); a command refused inside a Lua script keeps it, after
# the script's own text.
_OOM = re.compile(r"(?:^|\s)OOM command not allowed")
_NOPERM = re.compile(r"(?:^|\s)NOPERM\b")
_NOPERM_COMMAND = re.compile(r"run the '([^']+)' command")

TITLES = {
    400: N_("Bad request"),
    401: N_("Sign-in needed"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Wrong method"),
    409: N_("Conflict"),
    413: N_("Too large"),
    414: N_("URL too long"),
    429: N_("Too many requests"),
    431: N_("Headers too large"),
    500: N_("Server error"),
    503: N_("Redis unavailable"),
    507: N_("Redis out of memory"),
}


_CONNECTION_MOUNT = re.compile(r"^/c/[^/]+(?=/)")


def wants_json(request: Request) -> bool:
    """API paths (under the base path, or the cron endpoint's) and clients asking for JSON. Also
    for a path no route matched (a newline in it defeats the base path's Mount): it is judged
    by the path relative to the app, not to a mount that never happened."""
    root = root_of(request.scope)
    base = request.app.state.board.settings.base_path
    outer = root[: len(root) - len(base)] if base and root.endswith(base) else root
    path = request.scope["path"][len(outer) :]
    if base and path.startswith(base + "/"):
        path = path[len(base) :]
    # A named connection's API (`/c/<name>/api/…`), refused before its mount is entered.
    path = _CONNECTION_MOUNT.sub("", path, count=1)
    return (
        path.startswith("/api/")
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


def page_base(request: Request) -> str:
    """Where the dashboard's own links start, on any page including error pages. Inside the
    dashboard's mount, Starlette has already added the base path to `root_path`; a request that
    matched nothing (a 404 anywhere on the server) still needs it added."""
    root = root_of(request.scope)
    base_path = request.app.state.board.settings.base_path
    return root if root.endswith(base_path) else root + base_path


def problem(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    if "hx-request" in request.headers:
        return request.app.state.templates.TemplateResponse(
            request,
            "partials/notice.html",
            {"message": message, "ok": False},
            status_code=status,
            headers=headers,
        )
    if wants_json(request):
        return JSONResponse({"error": message, "status": status}, status, headers=headers)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, N_("Error")),
            "message": message,
            "base": page_base(request),
            # What the request spent before it failed (an unknown job is looked for first).
            "commands": commands_spent(),
        },
        status_code=status,
        headers=headers,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # A Text detail stays one, to be translated on the error page.
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if detail == HTTPStatus(exc.status_code).phrase:  # Starlette's own bare "Not Found"
        detail = routing_error(request, exc)
    return problem(request, exc.status_code, detail, exc.headers)


def routing_error(request: Request, exc: HTTPException) -> str:
    """A sentence for what Starlette's router refuses with a bare status phrase: a path no route
    matches (a typo, or an id with a line break in it) and a method the route does not take."""
    if exc.status_code == 404:
        return NO_PAGE
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        methods = [m for m in allowed.split(", ") if m and m != "HEAD"]
        if methods:
            return N_(
                "This address takes %(methods)s, not %(method)s.",
                methods=" or ".join(methods),
                method=request.method,
            )
    return str(exc.detail)


async def redis_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, AuthenticationError) or (
        isinstance(exc, ResponseError) and str(exc).startswith(("NOAUTH", "WRONGPASS"))
    ):
        message = REDIS_AUTH
    elif isinstance(exc, RedisTimeoutError | TimeoutError):
        message = REDIS_TIMEOUT
    elif "CERTIFICATE_VERIFY_FAILED" in str(exc):
        message = REDIS_TLS
    elif str(exc) == "No connection available.":  # the bounded pool's wait ran out
        pool = request.app.state.board.redis.connection_pool
        message = N_(
            "Every Redis connection of this dashboard stayed busy for %(wait)s s; try again in a "
            "moment.",
            wait=format(getattr(pool, "timeout", None) or POOL_WAIT_S, "g"),
        )
    elif isinstance(exc, ClusterError | RedisClusterException):
        message = REDIS_CLUSTER_DOWN
    elif any(dropped in str(exc) for dropped in _DROPPED):
        message = REDIS_LOST
    else:
        message = REDIS_DOWN
    log.warning("redis error on %s: %s", request.url.path, exc)
    return problem(request, 503, message, {"Retry-After": "5"})


async def redis_refusal(request: Request, exc: Exception) -> Response:
    """Redis answered, and said no: out of memory (507) or a command the ACL user may not run
    (503, as the dashboard cannot do its work until an operator changes Redis). Any other
    refusal is a fault of Drainboard's and goes to the log as a 500."""
    text = str(exc)
    if isinstance(exc, OutOfMemoryError) or _OOM.search(text):
        log.warning("redis refused a write on %s: %s", request.url.path, text)
        return problem(request, 507, REDIS_OOM)
    if isinstance(exc, NoPermissionError) or _NOPERM.search(text):
        named = _NOPERM_COMMAND.search(text)
        command = named.group(1).replace("|", " ").upper() if named else "a command it needs"
        log.warning("redis refused a command on %s: %s", request.url.path, text)
        refused = N_(
            "The Redis user this dashboard connects as may not run %(command)s; grant it (ACL "
            "SETUSER) or give the dashboard a user that may.",
            command=command,
        )
        return problem(request, 503, refused)
    return await unexpected_error(request, exc)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ResponseError) and str(exc).startswith(("NOAUTH", "WRONGPASS")):
        return await redis_error(request, exc)
    if isinstance(exc, OutOfMemoryError | NoPermissionError) or (
        isinstance(exc, ResponseError) and (_OOM.search(str(exc)) or _NOPERM.search(str(exc)))
    ):
        return await redis_refusal(request, exc)
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(request, 500, INTERNAL)


HANDLERS = {
    HTTPException: http_error,
    ResponseError: redis_refusal,
    RedisConnectionError: redis_error,
    RedisTimeoutError: redis_error,
    TimeoutError: redis_error,
    # A cluster with a slot unserved: CLUSTERDOWN replies, or no node known for the slot.
    ClusterError: redis_error,
    RedisClusterException: redis_error,
}


class CatchAll:
    """Any other exception becomes the one-sentence 500, through the normal response path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            if started:  # half an answer is out; nothing better can be said than closing it
                raise
            scope = as_routed(scope)
            response = await unexpected_error(Request(scope), exc)
            await response(scope, receive, send)


def as_routed(scope: Scope) -> Scope:
    """The scope as the dashboard's routes see it (root_path ending in the base path), so the
    error is JSON for the API and a page for people, as it would be inside the routes."""
    base = scope["app"].state.board.settings.base_path
    root = root_of(scope) + base
    if base and scope["path"].startswith(root + "/"):
        return {**scope, "root_path": root}
    return scope
