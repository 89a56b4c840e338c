"""Who may do what, decided once for every dashboard request before any handler runs.

Who: the bearer token or the session, turned into an Access (dashboard/access.py): admin on
every queue for DRAINBOARD_USERNAME/PASSWORD and DRAINBOARD_TOKEN (and for everyone when no
credential is set), the users file's grants otherwise, worked out again on every request.
What: the route the router will pick, looked up here. A queue outside the caller's grants is a
404 on every route; a change needs the role the route table (web/registry.py, WRITE_ROLES) names
for it, on its queue, else a 403 of one sentence. `--read-only` caps every role at viewer.

- `Authorization: Bearer <DRAINBOARD_TOKEN>` (or a users-file token): scripts. No session, no
  CSRF check.
- A signed session cookie: people, signed in through the login form when credentials are set.
  Every visitor gets a session (anonymous when no credentials are configured) so that every
  state-changing browser request carries a session-bound CSRF token, sent by htmx as
  `X-CSRF-Token`, and comes from this origin (`Sec-Fetch-Site`, `Origin`) under an allowed
  host name.
- With no credentials configured, a state-changing request with neither `Sec-Fetch-Site` nor
  `Origin` is a script's (`curl -X POST …`), not a browser's: browsers send `Origin` on every
  POST, PUT and DELETE. It needs no CSRF token, as Go's CrossOriginProtection decides. With
  credentials configured, a script sends the bearer token instead.
All secret comparisons are constant-time, and a client that sends FAILED_SECRETS_PER_MINUTE
wrong secrets (password, API token, metrics token) is refused with 429 for the rest of the minute.

`/metrics`, outside the base path, is guarded by `ServiceGuard`: with credentials configured it
needs `Authorization: Bearer` with the API token or DRAINBOARD_METRICS_TOKEN.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.access import NOBODY, Access, Role, UsersFile, admin
from dashboard.bullmq.discovery import QueueCatalog
from dashboard.config import Settings
from dashboard.i18n import N_
from dashboard.text import quoted
from dashboard.web.errors import problem
from dashboard.web.middleware.hosts import host_allowed
from dashboard.web.middleware.sessions import COOKIE, SessionSigner, new_session
from dashboard.web.middleware.throttle import PerMinute, client_of
from dashboard.web.paths import connection_in, path_value, root_of

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
OPEN_PATHS = ("/login", "/static/")
CSRF_HEADER = "x-csrf-token"
FAILED_SECRETS_PER_MINUTE = 10
METRICS_PATHS = ("/metrics",)


def same_secret(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def check_login(
    settings: Settings, users: UsersFile | None, username: str, password: str
) -> str | None:
    """The kind of session a sign-in opens: "env" for DRAINBOARD_USERNAME/PASSWORD (or the API
    token typed as the password), "user" for a user of the users file; None: refused."""
    user_ok = same_secret(username, settings.username)
    password_ok = same_secret(password, settings.password)
    if (user_ok and password_ok) or same_secret(password, settings.token):
        return "env"
    if users is not None and users.current().sign_in(username, password):
        return "user"
    return None


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        signer: SessionSigner,
        needs: Mapping[str, Role | None],
        routes: Sequence[BaseRoute],
        catalogs: Mapping[str | None, QueueCatalog],
        users: UsersFile | None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.signer = signer
        self.needs = needs  # route name -> the role its writes need (web/registry.py)
        # Routes and mounts (a named connection's `/c/{connection}`), in the router's order.
        self.routes = [route for route in routes if isinstance(route, Route | Mount)]
        # Each connection's catalog (None: one unnamed Redis); the first answers a URL naming none.
        self.catalogs = catalogs
        self.users = users
        self.cap = Role.VIEWER if settings.read_only else Role.ADMIN
        # Without credentials everyone is this: admin on every queue (capped by --read-only).
        self.everyone = None if settings.auth_required else admin("anonymous", self.cap)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.everyone is not None and _bare_script_read(scope):
            # Nothing to decide: no credentials are configured, so the caller is admin on every
            # queue, and a read needs no CSRF check nor route lookup. It is a script's read of
            # the JSON API, which is signed no session (below): its CSRF token could never be
            # sent back, so it gets none. ~20 µs a call less than the whole path, served.
            scope.setdefault("state", {}).update(csrf="", user=None, access=self.everyone)
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        route_path = _route_path(scope) or "/"
        await self.signer.load_generation()
        session = self.signer.loads(request.cookies.get(COOKIE))
        fresh = session is None
        session = session or new_session()
        given = bearer_token(request)
        if given is not None:
            access, refusal = self._bearer(request, given)
        else:
            access = self._session_access(session)
            refusal = self._refusal(request, route_path, session, access is not None)
        # A read by a caller who sees every queue cannot be refused: no route to look up.
        reading = request.method in SAFE_METHODS
        if refusal is None and access is not None and not (reading and access.sees_all):
            refusal = await self._forbidden(request, access)
        scope.setdefault("state", {}).update(
            csrf=session["c"], user=session.get("u"), access=access or NOBODY
        )
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        # A script signed in with its bearer token needs no session: signing a cookie for each
        # of its calls costs more than the rest of a small JSON answer. Nor does a script's read
        # of the JSON API: it has no CSRF token to use, and a cookie would cost its client a
        # cookie-jar lookup on every later call (~70 µs in httpx).
        if not fresh or given is not None or (reading and _script_read(route_path, request)):
            await self.app(scope, receive, send)
            return
        cookie = self.signer.cookie(request, session)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # One session cookie per answer: sign-in sets its own, which must win.
                own = f"{COOKIE}="
                if not any(v.startswith(own) for v in headers.getlist("set-cookie")):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _bearer(self, request: Request, given: str) -> tuple[Access | None, Response | None]:
        """DRAINBOARD_TOKEN is admin everywhere; a token of the users file has its grants."""
        refusal = locked_out(request)
        if refusal is not None:
            return None, refusal
        if same_secret(given, self.settings.token):
            return admin("API token", self.cap), None
        found = self.users.current().token(given, self.cap) if self.users else None
        if found is not None:
            return found, None
        failed_secrets(request).add(client_of(request))
        return None, problem(request, 401, N_("The bearer token is not valid."), _challenge())

    def _session_access(self, session: dict[str, Any]) -> Access | None:
        """The session's rights, recomputed from the users file on every request (a user taken
        out of it is signed out at once); None when nobody (or nobody still known) signed in."""
        user, kind = session.get("u"), session.get("k")
        if not self.settings.auth_required:
            return admin(user or "anonymous", self.cap)
        if not user:
            return None
        if kind == "env":
            return admin(user, self.cap)
        if self.users is None:
            # Single sign-on without a users file: everyone it lets in is admin, as before roles.
            return admin(user, self.cap) if kind == "oidc" else None
        directory = self.users.current()
        if kind == "user":
            return directory.user(user, self.cap, session.get("h") or "")
        if kind == "oidc":
            return directory.person(user, session.get("claims") or {}, self.cap)
        return None

    async def _forbidden(self, request: Request, access: Access) -> Response | None:
        """The role check, for every route: a queue outside the caller's grants does not exist
        for them (404, as for an unknown one); a change beyond their role there is a 403."""
        matched = self._route(request.scope)
        if matched is None:
            return None  # the router answers: 404, or 405 for a method the path does not take
        route, path_params = matched
        refusal = await self._beyond(request, access, route.name, path_params)
        if refusal is not None:
            # Refused with the route known: the audit trail records who tried what (a stranger's
            # refusal, before any sign-in, is not recorded; this one's author is known).
            request.scope.update(endpoint=route.endpoint, path_params=path_params)
        return refusal

    async def _beyond(
        self, request: Request, access: Access, name: str, path_params: dict[str, Any]
    ) -> Response | None:
        queue = path_value(path_params["queue"]) if "queue" in path_params else None
        if queue is not None and not access.sees(queue):
            return problem(
                request,
                404,
                N_("There is no queue named %(queue)s under this prefix.", queue=quoted(queue)),
            )
        if request.method in SAFE_METHODS:
            return None
        # A write route the table forgot needs the highest role: nothing escapes by omission.
        need = self.needs.get(name, Role.ADMIN)
        if need is None:
            return None
        # A connection read-only on its own refuses it where the route picks the connection's
        # board (web/lookup.py), by whatever URL the connection was reached.
        request.scope.setdefault("state", {})["changes"] = need > Role.VIEWER
        queue = queue or request.query_params.get("queue")
        connection = path_params.get("connection") or connection_in(request.scope)
        if queue is not None:
            # A queue it cannot see is the route's to refuse, as it refuses an unknown one.
            if not access.sees(queue) or access.may(need, queue):
                return None
            held, on_queue = access.role_on(queue), quoted(queue)
        else:
            # A change that names no queue acts on every queue the caller sees.
            catalog = self.catalogs.get(connection) or next(iter(self.catalogs.values()))
            seen = [name for name in await catalog.names() if access.sees(name)]
            if access.may_everywhere(need, seen):
                return None
            held, on_queue = access.top(seen), None
        if self.settings.read_only:
            return problem(request, 403, N_("This dashboard is read-only; actions are disabled."))
        role = held.label if held else N_("no role")
        if on_queue is None:
            return problem(
                request,
                403,
                N_(
                    "This needs the %(need)s role on every queue you can see, and you are "
                    "%(role)s there.",
                    need=need.label,
                    role=role,
                ),
            )
        return problem(
            request,
            403,
            N_(
                "This needs the %(need)s role on queue %(queue)s, and you are %(role)s there.",
                need=need.label,
                queue=on_queue,
                role=role,
            ),
        )

    def _route(self, scope: Scope) -> tuple[Route, dict[str, Any]] | None:
        """The route the router will pick (its first full match, inside a connection's mount
        too) and its path parameters."""
        return _first_match(self.routes, scope)

    def _refusal(
        self, request: Request, route_path: str, session: dict[str, Any], signed_in: bool
    ) -> Response | None:
        if self.settings.auth_required and not signed_in:
            if route_path.startswith(OPEN_PATHS):
                return self._cross_site(request)
            if request.method in SAFE_METHODS and not _is_api(route_path, request):
                next_path = quote(request.url.path, safe="/%")
                login = f"{root_of(request.scope)}/login?next={next_path}"
                return RedirectResponse(login, status_code=303)
            return problem(
                request, 401, N_("Sign in, or send Authorization: Bearer <token>."), _challenge()
            )
        if request.method in SAFE_METHODS:
            return None
        cross_site = self._cross_site(request)
        if cross_site is not None or route_path == "/login":
            return cross_site
        if not self.settings.auth_required and not _from_browser(request):
            return None
        if not same_secret(request.headers.get(CSRF_HEADER), session["c"]):
            return problem(
                request,
                403,
                N_("The CSRF token is missing or wrong; reload the page and try again."),
            )
        return None

    def _cross_site(self, request: Request) -> Response | None:
        if request.method in SAFE_METHODS:
            return None
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin")
        own_origin = f"{request.url.scheme}://{request.url.netloc}"
        foreign = origin is not None and (
            origin != own_origin
            or not host_allowed(urlsplit(origin).netloc, self.settings.allowed_hosts)
        )
        if (site and site not in ("same-origin", "none")) or foreign:
            return problem(request, 403, N_("Cross-site requests may not change anything here."))
        return None


def failed_secrets(request: Request) -> PerMinute:
    return request.app.state.failed_secrets


def locked_out(request: Request) -> Response | None:
    """429 while this client is over its wrong-secret allowance."""
    wait = failed_secrets(request).retry_after(client_of(request))
    if not wait:
        return None
    return problem(
        request,
        429,
        N_(
            "Too many wrong passwords or tokens from this address; try again in %(wait)s s.",
            wait=str(wait),
        ),
        {"Retry-After": str(wait)},
    )


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, if the request has one."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def check_bearer(request: Request, given: str, accepted: tuple[str | None, ...]) -> Response | None:
    """None when `given` is one of the accepted tokens; else a 401 (counted) or a 429."""
    refusal = locked_out(request)
    if refusal is not None:
        return refusal
    if any(same_secret(given, token) for token in accepted):
        return None
    failed_secrets(request).add(client_of(request))
    return problem(request, 401, N_("The bearer token is not valid."), _challenge())


class ServiceGuard:
    """`/metrics` leaks queue names and costs Redis commands: with credentials configured (or
    DRAINBOARD_METRICS_TOKEN set) it needs a bearer token. Keyed by path, so it guards whatever
    route serves it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.tokens = (settings.token, settings.metrics_token)
        self.required = settings.auth_required or bool(settings.metrics_token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.required and _route_path(scope) in METRICS_PATHS:
            request = Request(scope)
            refusal = check_bearer(request, bearer_token(request) or "", self.tokens)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _first_match(routes: Sequence[BaseRoute], scope: Scope) -> tuple[Route, dict[str, Any]] | None:
    for route in routes:
        match, child = route.matches(scope)
        if match != Match.FULL:
            continue
        if isinstance(route, Mount):
            # As the router does: the mount's routes, on the path under it.
            return _first_match(route.routes, {**scope, **child})
        if isinstance(route, Route):
            return route, child.get("path_params", {})
    return None


def _route_path(scope: Scope) -> str:
    root, path = root_of(scope), scope["path"]
    return path[len(root) :] if path.startswith(root) else path


def _from_browser(request: Request) -> bool:
    return "sec-fetch-site" in request.headers or "origin" in request.headers


def _bare_script_read(scope: Scope) -> bool:
    """A read of the JSON API by a script that sends no cookie and no Authorization (read from
    the raw headers, as the whole path would: see _script_read)."""
    if scope["method"] not in SAFE_METHODS or not _route_path(scope).startswith("/api/"):
        return False
    return not any(name in _NOT_BARE for name, _ in scope["headers"])


_NOT_BARE = {b"cookie", b"authorization", b"hx-request"}


def _script_read(route_path: str, request: Request) -> bool:
    return route_path.startswith("/api/") and "hx-request" not in request.headers


def _is_api(route_path: str, request: Request) -> bool:
    return route_path.startswith("/api/") or "hx-request" in request.headers


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="drainboard"'}
