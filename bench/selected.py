"""What "retry the selected" costs against the per-job Retry button it replaces.

    .venv/bin/python -m bench.selected [--jobs 25] [--server redis|valkey]

A fresh server; `--jobs` failed copies of one job BullMQ itself failed (tests/helpers.py's
load_failed). Executed Redis commands (INFO commandstats, INFO itself left out) for one
`POST api/queues/bulk/selected {"action": "retry", "ids": [...]}`, then, on as many fresh
copies, for the same number of `POST api/queues/bulk/jobs/{id}/retry`, the reference: what a
user clicking each row's Retry costs. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio

import redis.asyncio as aioredis

from bench.harness import RedisServer
from dashboard.config import Settings
from tests.helpers import executed_commands, load_failed, make_client

API = "/admin/queues/api/queues/bulk"
BEARER = {"Authorization": "Bearer bench"}


async def run(url: str, jobs: int) -> None:
    r = aioredis.Redis.from_url(url, decode_responses=True)
    ids = [f"f{n}" for n in range(jobs)]
    async with make_client(Settings(redis_url=url, token="bench", queues=("bulk",))) as http:
        await load_failed(url, jobs)
        await http.get("/admin/queues/api/queues", headers=BEARER)  # scripts loaded, catalog read
        before = await executed_commands(r)
        answer = await http.post(
            f"{API}/selected", headers=BEARER, json={"action": "retry", "ids": ids}
        )
        selected = await executed_commands(r) - before
        assert answer.status_code == 200 and answer.json()["count"] == jobs, answer.text
        await r.flushall()
        await load_failed(url, jobs)
        before = await executed_commands(r)
        for job_id in ids:
            one = await http.post(f"{API}/jobs/{job_id}/retry", headers=BEARER)
            assert one.status_code == 200, one.text
        single = await executed_commands(r) - before
    await r.aclose()
    print(f"retry {jobs} selected jobs, one request: {selected:,} executed commands")
    print(f"retry {jobs} jobs one by one ({jobs} requests, reference): {single:,}")
    print(f"ratio selected / one by one: {selected / single:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=25)
    parser.add_argument("--server", choices=("redis", "valkey"), default="redis")
    args = parser.parse_args()
    server = RedisServer(args.server).start()
    try:
        asyncio.run(run(server.url, args.jobs))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
