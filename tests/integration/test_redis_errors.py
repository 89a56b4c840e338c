"""Redis down or refusing us: a 503 in one sentence, then recovery without a restart."""

from __future__ import annotations

from dashboard.config import Settings
from dashboard.web.errors import REDIS_AUTH, REDIS_DOWN
from tests.helpers import free_port, make_client, start_redis, wait_for


async def test_unreachable_then_recovers() -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}"
    async with make_client(Settings(redis_url=url, queues=("mail",))) as http:
        api = await http.get("/admin/queues/api/queues")
        assert api.status_code == 503
        assert api.json()["error"] == REDIS_DOWN
        page = await http.get("/admin/queues/")
        assert page.status_code == 503 and "unreachable" in page.text
        assert "Traceback" not in page.text

        server = start_redis(port)
        try:
            wait_for(url)
            recovered = await http.get("/admin/queues/api/queues")
            assert recovered.status_code == 200
        finally:
            server.terminate()
            server.wait(10)


async def test_wrong_password_is_named() -> None:
    port = free_port()
    server = start_redis(port, "--requirepass", "right")
    try:
        wait_for(f"redis://:right@127.0.0.1:{port}")
        async with make_client(Settings(redis_url=f"redis://:wrong@127.0.0.1:{port}")) as http:
            response = await http.get("/admin/queues/api/queues")
            assert response.status_code == 503
            assert response.json()["error"] == REDIS_AUTH
        async with make_client(Settings(redis_url=f"redis://127.0.0.1:{port}")) as http:
            response = await http.get("/admin/queues/api/queues")
            assert response.status_code == 503
            assert response.json()["error"] == REDIS_AUTH
    finally:
        server.terminate()
        server.wait(10)
