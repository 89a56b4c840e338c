"""Only the configured Host names are answered: the defence against DNS rebinding.

A page on an attacker's domain whose name is made to resolve to 127.0.0.1 is, to the browser,
same-origin with whatever listens there: it can read the dashboard's pages (CSRF token
included) and call every action. What it cannot change is the Host header, which carries its
own name. So every request but `/healthz` (a liveness probe, reached by address) must name an
allowed host; the port is not compared. Starlette's TrustedHostMiddleware is not used: it cuts
`[::1]:3000` at the first colon, and answers a bare "Invalid host header" without saying what
to change.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.config import ANY_HOST, Settings
from dashboard.web.errors import as_routed, problem

OPEN_PATHS = ("/healthz",)
# A hostile Host header can be long; the answer quotes this much of it.
MAX_QUOTED = 80


def host_name(netloc: str) -> str:
    """The host of a Host header or an origin's netloc, without the port, as config writes it."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[: netloc.find("]") + 1] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0].rstrip(".") if ":" in netloc else netloc.rstrip(".")


def host_allowed(netloc: str, allowed: tuple[str, ...] | None) -> bool:
    return allowed is None or ANY_HOST in allowed or host_name(netloc) in allowed


class AllowedHosts:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = settings.allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")
        if scope["type"] != "http" or scope["path"].removeprefix(root) in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        await problem(Request(as_routed(scope)), 400, refusal(host))(scope, receive, send)


def refusal(host: str) -> str:
    if not host:
        return "The request has no Host header; this dashboard answers only named hosts."
    quoted = host if len(host) <= MAX_QUOTED else host[:MAX_QUOTED] + "…"
    name = host_name(host)[:MAX_QUOTED]
    return (
        f"Host header {quoted!r} is not allowed; start the dashboard with"
        f" --allowed-hosts {name} to allow it."
    )
