"""The README's example: the dashboard mounted inside a host Starlette app."""

from __future__ import annotations

import httpx

from tests.helpers import make_jobs


async def test_mounted_under_host_app(server_url: str, monkeypatch) -> None:
    await make_jobs(server_url)
    monkeypatch.setenv("REDIS_URL", server_url)
    import importlib

    import examples.mount_in_starlette as example

    app = importlib.reload(example).app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as http:
        assert (await http.get("/")).text == "my app"
        assert (await http.get("/admin/queues/")).status_code == 403
        admin = {"X-Admin": "yes"}
        page = await http.get("/admin/queues/", headers=admin)
        assert page.status_code == 200
        assert 'href="/admin/queues/queue/mail"' in page.text
        assert 'src="/admin/queues/static/htmx.min.js"' in page.text
        api = await http.get("/admin/queues/api/queues", headers=admin)
        assert api.json()["queues"][0]["name"] == "mail"
