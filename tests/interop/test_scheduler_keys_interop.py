"""A scheduler whose id ends in `:<digits>` (`nightly:1`) keeps its hash at `repeat:nightly:1`,
which is also the shape of a scheduler job's id. No job route may take that hash for a job:
each answers 404 and leaves the scheduler, its hash and the repeat set exactly as Node made them.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import redis

from dashboard.config import Settings
from tests.helpers import MAJORS, make_client, node_json

pytestmark = pytest.mark.interop

BASE = "/admin/queues"
API = f"{BASE}/api/queues/ticks"
BEARER = {"Authorization": "Bearer t"}
SCHEDULERS = ("nightly:1", "tenant:42")


@pytest.mark.parametrize("major", MAJORS)
async def test_a_schedulers_hash_is_no_job_on_any_route(
    node: str, major: str, server_url: str
) -> None:
    made = node_json(node, "schedulers.mjs", major, server_url, "ticks", "upsert", *SCHEDULERS)
    assert sorted(s["key"] for s in made["schedulers"]) == sorted(SCHEDULERS)
    sync = redis.Redis.from_url(server_url)
    keys = ["bull:ticks:repeat", *(f"bull:ticks:repeat:{s}" for s in SCHEDULERS)]
    assert all(sync.exists(key) for key in keys)
    before = [sync.dump(key) for key in keys]

    async with make_client(Settings(redis_url=server_url, token="t")) as http:
        http.headers.update(BEARER)
        for scheduler in SCHEDULERS:
            job_id = f"repeat:{scheduler}"
            job = f"{API}/jobs/{job_id}"
            answers = {
                "page": await http.get(f"{BASE}/queue/ticks/jobs/{job_id}"),
                "api": await http.get(job),
                "raw": await http.get(f"{BASE}/queue/ticks/jobs/{job_id}/raw/data"),
                "flow": await http.get(f"{job}/flow"),
                "copy form": await http.get(f"{BASE}/queue/ticks/add?from={quote(job_id)}"),
                "duplicate": await http.post(f"{job}/duplicate"),
                "retry": await http.post(f"{job}/retry"),
                "promote": await http.post(f"{job}/promote"),
                "edit": await http.put(f"{job}/data", json={"x": 1}),
                "priority": await http.post(f"{job}/priority", json={"priority": 1}),
                "delay": await http.post(f"{job}/delay", json={"delay": 1}),
                "delete": await http.delete(job),
                "delete on its page": await http.delete(f"{BASE}/queue/ticks/jobs/{job_id}"),
            }
            for route, answer in answers.items():
                assert answer.status_code == 404, (route, answer.status_code, answer.text)
                assert "has no job with id" in answer.text, (route, answer.text)

            found = await http.get(f"{BASE}/api/search", params={"id": job_id})
            assert found.json() == {"jobs": []}
            searched = await http.get(f"{BASE}/search", params={"id": job_id})
            assert searched.status_code == 200 and not searched.history, searched.headers

    assert [sync.dump(key) for key in keys] == before
    seen = node_json(node, "schedulers.mjs", major, server_url, "ticks", "view")
    assert seen["schedulers"] == made["schedulers"]
