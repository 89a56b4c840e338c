"""A 10 MB job: its page and its Duplicate form stay small, and the server keeps answering
/healthz while ten views of it render (issue 21, item 7)."""

from __future__ import annotations

import asyncio
import time

import httpx
from bullmq import Queue

from dashboard.config import Settings
from dashboard.web.app import create_app
from tests.helpers import make_client
from tests.uvicorn_thread import serving

BASE = "/admin/queues"
PAGE_BOUND = 1024 * 1024


def big_data() -> dict:
    """About 10 MB of JSON made of many small values, as a real payload is: the costly kind to
    decode and indent."""
    return {"rows": [{"id": i, "name": f"item-{i}", "tags": ["a", "b"]} for i in range(230_000)]}


async def add_big_job(url: str) -> tuple[str, str]:
    """A big job and a small one in queue `big`; returns their ids."""
    queue = Queue("big", {"connection": url})
    big = await queue.add("bulk", big_data())
    small = await queue.add("bulk", {"rows": [1, 2]})
    await queue.close()
    return big.id, small.id


async def test_big_job_page_and_duplicate_form_are_bounded(server_url: str) -> None:
    big, small = await add_big_job(server_url)
    async with make_client(Settings(redis_url=server_url)) as http:
        page = await http.get(f"{BASE}/queue/big/jobs/{big}")
        assert page.status_code == 200
        assert len(page.content) < PAGE_BOUND, len(page.content)
        assert "the first 64.0 KB are shown" in page.text and "item-1" in page.text

        form = await http.get(f"{BASE}/queue/big/add?from={big}")
        assert form.status_code == 200
        assert len(form.content) < PAGE_BOUND, len(form.content)
        assert "Too large to edit here" in form.text
        # No field holds a cut copy of the data that could be saved as the real thing.
        assert 'name="data"' not in form.text and "item-1" not in form.text
        assert f"/api/queues/big/jobs/{big}/duplicate" in form.text

        # A job that fits keeps its editable copy.
        fits = await http.get(f"{BASE}/queue/big/add?from={small}")
        assert 'name="data"' in fits.text and "Too large" not in fits.text

        # The API still answers the value whole.
        whole = (await http.get(f"{BASE}/api/queues/big/jobs/{big}")).json()
        assert whole["data"] == big_data() and "previews" not in whole


async def test_big_job_page_with_redaction_is_bounded(server_url: str) -> None:
    big, _ = await add_big_job(server_url)
    settings = Settings(redis_url=server_url, redact=("data.password",))
    async with make_client(settings) as http:
        page = await http.get(f"{BASE}/queue/big/jobs/{big}")
        assert page.status_code == 200
        assert len(page.content) < PAGE_BOUND, len(page.content)
        assert "the first 64.0 KB are shown" in page.text and "item-1" in page.text


async def test_healthz_answers_while_big_pages_render(server_url: str) -> None:
    big, _ = await add_big_job(server_url)
    with serving(create_app(Settings(redis_url=server_url))) as origin:
        async with httpx.AsyncClient(base_url=origin, timeout=60) as http:
            assert (await http.get(f"{BASE}/queue/big/jobs/{big}")).status_code == 200  # warm
            views = [
                asyncio.create_task(http.get(f"{BASE}/queue/big/jobs/{big}")) for _ in range(10)
            ]
            waits = []
            while not all(view.done() for view in views):
                started = time.monotonic()
                assert (await http.get("/healthz")).status_code == 200
                waits.append(time.monotonic() - started)
                await asyncio.sleep(0.02)
    # Generous for a loaded machine; rendering these pages on the loop held it for seconds.
    assert max(waits) < 0.5, f"/healthz waited {max(waits):.3f} s ({len(waits)} probes)"
    assert [view.result().status_code for view in views] == [200] * 10
