"""What "retry (or remove) the selected" costs against the per-job buttons it replaces.

    .venv/bin/python -m bench.selected [--jobs 25 200] [--server redis valkey]

On each server, fresh: `--jobs` failed copies of one job BullMQ itself failed (tests/helpers.py's
load_failed) to retry or remove, or delayed jobs to promote. For one `POST
api/queues/bulk/selected {"action": ..., "ids": [...]}`, then, on as many fresh jobs, for the same
number of row buttons (`POST .../jobs/{id}/retry` or `/promote`, `DELETE .../jobs/{id}`), the
reference: executed Redis commands (INFO commandstats, INFO itself left out)
and the app's round trips to Redis (tests/helpers.py's round_trips: one per write on a
connection). The scripts are loaded first, as they are after any first action; the first
selection on a fresh server is measured on its own line. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

import httpx
import redis.asyncio as aioredis
from bullmq import Queue

from bench.harness import RedisServer, table
from dashboard.config import Settings
from tests.helpers import executed_commands, load_failed, make_client, round_trips

API = "/admin/queues/api/queues/bulk"
BEARER = {"Authorization": "Bearer bench"}

# Each action: how one row's button sends it.
ROW_BUTTONS: dict[str, Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]] = {
    "retry": lambda http, job_id: http.post(f"{API}/jobs/{job_id}/retry", headers=BEARER),
    "promote": lambda http, job_id: http.post(f"{API}/jobs/{job_id}/promote", headers=BEARER),
    "remove": lambda http, job_id: http.delete(f"{API}/jobs/{job_id}", headers=BEARER),
}


async def load(r: aioredis.Redis, url: str, action: str, jobs: int) -> None:
    """Fresh jobs f0, f1...: delayed ones (added by the bullmq package) to promote, failed
    copies otherwise."""
    await r.flushall()  # keys only: the scripts stay loaded
    if action != "promote":
        await load_failed(url, jobs)
        return
    queue = Queue("bulk", {"connection": url})
    for n in range(jobs):
        await queue.add("sync", {"account": n}, {"delay": 3_600_000, "jobId": f"f{n}"})
    await queue.close()


async def measured(r: aioredis.Redis, send: Callable[[], Awaitable[None]]) -> tuple[int, int]:
    """(executed commands, round trips) of what `send` makes the app do."""
    before = await executed_commands(r)
    with round_trips() as trips:
        await send()
    return await executed_commands(r) - before, trips[0]


async def selection(
    r: aioredis.Redis, http: httpx.AsyncClient, url: str, action: str, jobs: int
) -> tuple[int, int]:
    await load(r, url, action, jobs)

    async def send() -> None:
        body = {"action": action, "ids": [f"f{n}" for n in range(jobs)]}
        answer = await http.post(f"{API}/selected", headers=BEARER, json=body)
        assert answer.status_code == 200 and answer.json()["count"] == jobs, answer.text

    return await measured(r, send)


async def row_buttons(
    r: aioredis.Redis, http: httpx.AsyncClient, url: str, action: str, jobs: int
) -> tuple[int, int]:
    await load(r, url, action, jobs)

    async def send() -> None:
        for n in range(jobs):
            answer = await ROW_BUTTONS[action](http, f"f{n}")
            assert answer.status_code == 200, answer.text

    return await measured(r, send)


async def run(server: RedisServer, sizes: list[int]) -> list[list[str]]:
    url = server.url
    r = aioredis.Redis.from_url(url, decode_responses=True)
    rows = []
    async with make_client(Settings(redis_url=url, token="bench", queues=("bulk",))) as http:
        await http.get("/admin/queues/api/queues", headers=BEARER)  # connections made, catalog read
        commands, trips = await selection(r, http, url, "retry", sizes[0])
        rows.append(
            [
                server.version,
                f"retry, first use ({sizes[0]})",
                f"{commands:,}",
                f"{trips}",
                "",
                "",
                "",
            ]
        )
        for action in ROW_BUTTONS:
            await row_buttons(r, http, url, action, 1)  # the row buttons' scripts loaded too
            for jobs in sizes:
                ours = await selection(r, http, url, action, jobs)
                rows_ = await row_buttons(r, http, url, action, jobs)
                rows.append(
                    [
                        server.version,
                        f"{action} {jobs}",
                        f"{ours[0]:,}",
                        f"{ours[1]}",
                        f"{rows_[0]:,}",
                        f"{rows_[1]}",
                        f"{ours[0] / rows_[0]:.2f} / {ours[1] / rows_[1]:.3f}",
                    ]
                )
    await r.aclose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[25, 200])
    parser.add_argument(
        "--server", nargs="+", choices=("redis", "valkey"), default=["valkey", "redis"]
    )
    args = parser.parse_args()
    rows = []
    for kind in args.server:
        server = RedisServer(kind).start()
        try:
            rows += asyncio.run(run(server, args.jobs))
        finally:
            server.stop()
    headers = [
        "server",
        "action (jobs)",
        "selected: commands",
        "round trips",
        "row buttons: commands",
        "round trips",
        "ratio commands / trips",
    ]
    print(table(headers, rows, right={2, 3, 4, 5, 6}))


if __name__ == "__main__":
    main()
