"""Pages to add a job (or a copy of one) and to manage a whole queue: empty, obliterate, limits."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.bullmq import queue_limits
from dashboard.i18n import N_
from dashboard.web.board import Board
from dashboard.web.lookup import job_not_found, queue_route
from dashboard.web.render import VALUE_LIMIT, render
from dashboard.writes.manage import copyable_options


@queue_route
async def add_page(request: Request, board: Board, queue: str) -> Response:
    """The add form; `?from=<id>` fills it with a copy of that job (Duplicate)."""
    source = request.query_params.get("from")
    job = None
    if source and board.reader.redactor.active:
        raise HTTPException(
            409,
            detail=N_(
                "With redaction on, use Duplicate on the job page: the copy is made on the "
                "server, redacted fields included, without showing them."
            ),
        )
    if source:
        job = await board.reader.job(queue, source, preview=VALUE_LIMIT)
        if job is None:
            raise job_not_found(queue, source)
    # Data past the page's limit is not put in the form: a cut copy must never be saved as the
    # job's data, and 15 MB of HTML is no form to edit by hand. The page says so and offers the
    # server-side copy instead.
    too_large = job is not None and job["storedBytes"]["data"] > VALUE_LIMIT
    opts = copyable_options(job.get("opts", {})) if job else {}
    context = {
        "queue": queue,
        "source": job,
        "too_large": too_large,
        "data_size": job["storedBytes"]["data"] if job else 0,
        "name": job["name"] if job else "",
        "data": job["data"] if job and not too_large else {},
        "opts": opts,
        "title": N_("Add a job to %(queue)s", queue=queue),
    }
    return render(request, "add_job.html", context)


@queue_route
async def manage_page(request: Request, board: Board, queue: str) -> Response:
    [summary] = await board.reader.summaries([queue])
    context = {
        "queue": summary,
        "limits": await queue_limits.read(board.redis, board.settings.prefix, queue),
        "title": N_("Manage %(queue)s", queue=queue),
    }
    return render(request, "manage.html", context)


routes = [
    Route("/queue/{queue}/add", add_page, name="add_page"),
    Route("/queue/{queue}/manage", manage_page, name="manage_page"),
]
