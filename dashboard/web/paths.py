"""URL path segments built from data (queue names, job ids), both ways.

Out: `segment()` percent-encodes everything but unreserved characters, `/` included, so a job id
`../../other` stays one segment and no button can be re-aimed at another route.

In: servers decode `%2F` into `/` before routing, which would split such a segment again.
`EncodedSlashes` routes on the path with `%2F` and `%25` still encoded (every other escape
decoded as usual), and `path_value()` decodes those two in a path parameter. Route handlers read
data-bearing path parameters through `path_value()` (lookup.py's wrappers do it for `{queue}` and
`{job_id}`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from urllib.parse import parse_qs, quote, unquote

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

_KEPT = re.compile(r"%2[fF]|%25")


def root_of(scope: Scope) -> str:
    """Where the dashboard's routes are: the host app's mount point plus the base path. Every
    URL the dashboard writes starts here, so links follow it when it is mounted elsewhere."""
    return str(scope.get("root_path", ""))


def connection_in(scope: Scope) -> str | None:
    """The Redis connection a URL names, in its path (`/c/<name>/…`) or its query
    (`?connection=name`, the JSON API's form); None when it names none."""
    name = scope.get("path_params", {}).get("connection")
    raw = scope.get("query_string", b"")
    # Most queries name no connection: parsing them was a few µs, asked several times a request.
    if name is None and (b"connection" in raw or b"%" in raw):
        query = parse_qs(raw.decode("latin-1"))
        name = query.get("connection", [None])[0]
    return name or None


def dashboard_root(scope: Scope) -> str:
    """The dashboard's own root, above any connection's `/c/<name>` (names need no escaping)."""
    root = root_of(scope)
    name = scope.get("path_params", {}).get("connection")
    suffix = f"/c/{name}"
    return root[: -len(suffix)] if name and root.endswith(suffix) else root


def url_builder(routes: list[BaseRoute]) -> Callable[..., str]:
    """`url(name, **params)` in templates: the path of a named route under the dashboard's root,
    each parameter percent-encoded as one segment. The one way a template writes a URL of the
    dashboard; an unknown name or a missing parameter fails the render, so no link can drift."""
    paths: dict[str, str] = {}
    for route in routes:
        if isinstance(route, Route):
            paths.setdefault(route.name, route.path)
        elif isinstance(route, Mount) and route.name:
            paths.setdefault(route.name, route.path + "/{path}")

    @pass_context
    def url(context: Context, name: str, _under: str | None = None, **params: object) -> str:
        """`_under`: another root than the page's (a connection's, on the front page)."""
        path = paths[name]
        for key, value in params.items():
            placeholder = "{" + key + "}"
            if placeholder not in path:
                raise KeyError(f"route {name} has no parameter {key}")
            path = path.replace(placeholder, segment(value))
        if "{" in path:
            raise KeyError(f"route {name} needs more parameters: {path}")
        return (str(context.get("base", "")) if _under is None else _under) + path

    return url


def segment(value: object) -> str:
    """One path segment: `a/b c` → `a%2Fb%20c`."""
    return _quoted(str(value))


@functools.lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    """Cached: an overview writes each of its 50 queue names into several links per render."""
    return quote(text, safe="")


def path_value(value: str) -> str:
    """A path parameter as the data it names: undoes the two escapes routing kept."""
    return _KEPT.sub(lambda m: "/" if m.group(0) != "%25" else "%", value)


def routing_path(raw_path: bytes) -> str | None:
    """The path to route on: decoded, except `%2F` and `%25`; None if the raw path is not ASCII."""
    try:
        raw = raw_path.split(b"?", 1)[0].decode("ascii")
    except UnicodeDecodeError:
        return None
    parts = _KEPT.split(raw)
    kept = [m.upper() for m in _KEPT.findall(raw)]
    decoded = [unquote(part) for part in parts]
    return "".join(d + k for d, k in zip(decoded, [*kept, ""], strict=True))


class EncodedSlashes:
    """Route on the path with encoded slashes kept, when the server gave us the raw path and it
    decodes to the same path (so an app mounted inside another keeps working)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] in ("http", "websocket") else None
        if raw and _KEPT.search(raw.decode("latin-1")):
            path = routing_path(raw)
            if path is not None and unquote(path) == scope["path"]:
                scope = {**scope, "path": path}
        await self.app(scope, receive, send)


def local_path(target: str | None, base: str) -> str:
    """Only a path on this site: `next=//evil.example` must not redirect away."""
    # Browsers read `/\evil.example` as `//evil.example` too.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return f"{base}/"
