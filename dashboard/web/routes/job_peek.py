"""A job opened in place on the queue page: stack trace, data, options, logs and progress in a
row under the job's own, read when the row is expanded, at the cost of one job page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.text import quoted
from dashboard.web import params
from dashboard.web.board import Board
from dashboard.web.lookup import job_id_of, job_not_found, queue_route
from dashboard.web.render import VALUE_LIMIT, render


@queue_route
async def job_peek(request: Request, board: Board, queue: str) -> Response:
    job_id = job_id_of(request)
    # The row spans the table it opens in, whose column count varies with the tab.
    columns = request.query_params.get("columns", "9")
    if not (columns.isdigit() and 1 <= int(columns) <= 20):
        raise params.bad_request(f"columns must be a number from 1 to 20; got {quoted(columns)}.")
    job = await board.reader.job(queue, job_id, preview=VALUE_LIMIT)
    if job is None:
        raise job_not_found(queue, job_id)
    return render(
        request,
        "partials/job_peek.html",
        {
            "queue": queue,
            "job": job,
            "redacting": board.reader.redactor.active,
            "limit": VALUE_LIMIT,
            "columns": int(columns),
        },
    )


routes = [Route("/queue/{queue}/jobs/{job_id}/peek", job_peek, name="job_peek")]
