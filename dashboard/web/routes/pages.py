"""HTML pages under the base path: overview, queue, job, and a job's raw values."""

from __future__ import annotations

import os
import re
import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dashboard.bullmq.flows import child_counts
from dashboard.bullmq.latency import oldest_waiting
from dashboard.i18n import N_, Np_
from dashboard.web import params
from dashboard.web.board import Board
from dashboard.web.lookup import board_of, job_id_of, job_not_found, notice, queue_route
from dashboard.web.middleware.guard import check_login, failed_secrets, locked_out
from dashboard.web.middleware.sessions import COOKIE, new_session
from dashboard.web.middleware.throttle import client_of
from dashboard.web.paths import local_path, root_of
from dashboard.web.render import STATIC_DIR, VALUE_LIMIT, render
from dashboard.writes.manage import EDITABLE

# Queues per overview page: 550 commands a render at most (650 on a cluster), whatever the number
# of queues (9 each, and 1 or 2 for the latency of each that has jobs waiting; 2 or 4 there).
OVERVIEW_PAGE_SIZE = 50
RAW_FIELDS = ("data", "returnvalue", "opts", "stacktrace", "parent")


async def overview(request: Request) -> Response:
    """The queues, a page at a time and filtered by name: a render reads the queues on screen
    only (9 commands each, and 1 or 2 for the latency of each with jobs waiting), however many
    the catalog holds."""
    board = board_of(request)
    names = await board.catalog.names()
    window = params.queue_window(request.query_params, names, OVERVIEW_PAGE_SIZE)
    # `?live=1` is the page's own refresh on a change notice: counts from the watcher.
    live = request.query_params.get("live") == "1"
    summaries = await board.summaries(window.shown, live=live)
    due = await board.oldest_due(summaries, live=live)
    paged = len(names) > OVERVIEW_PAGE_SIZE or bool(window.name_filter)
    return render(
        request,
        "overview.html",
        {
            "queues": summaries,
            "due": due,
            "now_ms": int(time.time() * 1000),
            "unserved": await board.service_check.unserved(summaries, names, ask=not live),
            "queue_total": len(names),
            "matching": len(window.matching),
            "first_shown": window.first + 1,
            "name_filter": window.name_filter,
            "page": window.page,
            "page_count": window.page_count,
            "paged": paged,
            "scannable": not board.catalog.fixed,
            "problem": board.catalog.problem,
            "title": N_("Queues"),
            "demo": board.settings.demo,
            # After Obliterate the queue's pages are gone; the overview says what went.
            "obliterated": request.query_params.get("obliterated"),
            "live_queue": None,
            # A page of a longer list listens to the queues it shows, not to all of them.
            "live_among": window.shown if paged else None,
        },
    )


async def rescan(request: Request) -> Response:
    names = await board_of(request).catalog.rescan()
    if "hx-request" in request.headers:
        found = Np_("Found %(count)s queue.", "Found %(count)s queues.", len(names))
        return notice(request, found, ok=True)
    return RedirectResponse(root_of(request.scope) + "/", status_code=303)


async def login(request: Request) -> Response:
    board = board_of(request)
    base = root_of(request.scope)
    target = local_path(request.query_params.get("next"), base)
    if not board.settings.auth_required:
        # No credentials configured: nothing to sign in to, so the form would reject everyone.
        return RedirectResponse(target, status_code=303)
    if request.method == "GET":
        return render(request, "login.html", _login_context(board, target, failed=False))
    refusal = locked_out(request)
    if refusal is not None:
        return refusal
    form = parse_qs((await request.body()).decode(errors="replace"))
    username = form.get("username", [""])[0]
    password = form.get("password", [""])[0]
    kind = check_login(board.settings, board.users, username, password)
    if kind is None:
        failed_secrets(request).add(client_of(request))
        response = render(request, "login.html", _login_context(board, target, failed=True))
        response.status_code = 401
        return response
    response = RedirectResponse(target, status_code=303)
    session = new_session(username or "token", kind)
    if kind == "user" and board.users is not None:
        # Which password it was: a password changed in the file ends this session.
        session["h"] = board.users.current().seal_of(username)
    response.headers.append("set-cookie", board.signer.cookie(request, session))
    return response


def _login_context(board: Board, target: str, failed: bool) -> dict[str, object]:
    settings = board.settings
    return {
        "title": N_("Sign in"),
        "next": target,
        "failed": failed,
        "sso": board.oidc is not None,
        "passwords": bool(settings.username or settings.token or settings.users),
    }


async def logout(request: Request) -> Response:
    """Ends every session signed before now, this one and any copied cookie alike."""
    await board_of(request).signer.end_all_sessions()
    base = root_of(request.scope)
    if "hx-request" in request.headers:
        # htmx would follow a 303 inside its request and stay on the page: it is told instead.
        response: Response = Response(status_code=200, headers={"HX-Redirect": f"{base}/login"})
    else:
        response = RedirectResponse(f"{base}/login", status_code=303)
    response.delete_cookie(COOKIE, path=base or "/")
    return response


@queue_route
async def queue_page(request: Request, board: Board, queue: str) -> Response:
    status = params.status(request.query_params, "waiting")
    page, page_size = params.paging(request.query_params, params.PAGE_SIZE)
    watcher = board.watcher
    version = watcher.version(queue)
    result = await board.reader.job_page(queue, status, page, page_size)
    watcher.offer(result.queue, version)
    if page > result.page_count:
        # Past the last page (a stale link, or jobs removed since): show the last one instead.
        last = request.url.include_query_params(page=result.page_count)
        return RedirectResponse(f"{last.path}?{last.query}", status_code=303)
    # The latency (the oldest waiting job's age): 1 or 2 commands, none when nothing waits.
    latency = None
    keys = {queue: board.reader.keys(queue)}
    due = (await oldest_waiting(board.redis, keys, [result.queue]))[queue]
    if due is not None:
        latency = {"due": due, "taken": watcher.arrivals(queue, "active")}
    children = {}
    if status == "waiting-children":  # "3 of 5 children done": four counts a row
        ids = [job["id"] for job in result.jobs]
        children = await child_counts(board.redis, board.reader.keys(queue), ids)
    return render(
        request,
        "queue.html",
        {
            "result": result,
            "children": children,
            "queue": result.queue,
            "status": status,
            "removed": request.query_params.get("removed"),
            "default_page_size": params.PAGE_SIZE,
            "title": queue,
            "live_queue": queue,
            # What the rows were read against: live refreshes of the counts compare with it.
            "shown": {
                "count": result.total,
                "seen": watcher.arrivals(queue, status),
                "page": page,
                "pageSize": page_size,
            },
            "fresh": 0,
            "moved": False,
            "latency": latency,
            "now_ms": int(time.time() * 1000),
        },
    )


@queue_route
async def job_page(request: Request, board: Board, queue: str) -> Response:
    job_id = job_id_of(request)
    job = await board.reader.job(queue, job_id, preview=VALUE_LIMIT)
    if job is None:
        raise job_not_found(queue, job_id)
    return render(
        request,
        "job.html",
        {
            "queue": queue,
            "job": job,
            "sizes": job["storedBytes"],
            "redacting": board.reader.redactor.active,
            "limit": VALUE_LIMIT,
            "editable": EDITABLE,
            "now_ms": int(time.time() * 1000),
            "title": f"{queue} · {job_id}",
            "live_queue": queue,
            "live_job": job_id,
        },
    )


@queue_route
async def raw_value(request: Request, board: Board, queue: str) -> Response:
    """The whole of one stored value, as Redis holds it, to read in the browser or download."""
    job_id, field = job_id_of(request), request.path_params["field"]
    if field not in RAW_FIELDS:
        raise params.bad_request(f"field must be one of {', '.join(RAW_FIELDS)}; got {field!r}.")
    value = await board.reader.job_field(queue, job_id, field)
    if value is None:
        raise job_not_found(queue, job_id)
    headers = {}
    if request.query_params.get("download"):
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{queue}-{job_id}-{field}")
        headers["content-disposition"] = f'attachment; filename="{name}.json"'
    return Response(value, media_type="application/json", headers=headers)


class StaticAssets(StaticFiles):
    """The stylesheet, scripts and icon. Not the rest of the `dashboard.static` package's
    directory: its `__init__.py`, bytecode, or the vendored licence files."""

    SERVED = (".css", ".js", ".svg")

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if not path.endswith(self.SERVED):
            return "", None
        return super().lookup_path(path)


routes = [
    Route("/rescan", rescan, methods=["POST"], name="rescan"),
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/queue/{queue}", queue_page, name="queue_page"),
    Route("/queue/{queue}/jobs/{job_id}", job_page, name="job_page"),
    Route("/queue/{queue}/jobs/{job_id}/raw/{field}", raw_value, name="raw_value"),
    Mount("/static", app=StaticAssets(directory=STATIC_DIR), name="static"),
]
