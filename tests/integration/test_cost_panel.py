"""The cost panel and `GET api/cost` on a real server."""

from __future__ import annotations

import re

import httpx


async def test_api_cost_projection_and_measurement(client: httpx.AsyncClient) -> None:
    body = (await client.get("/admin/queues/api/cost?queues=5&measure=1")).json()
    modes = {m["mode"]: m for m in body["modes"]}
    assert set(modes) == {"always", "cron", "cron-seed", "on-demand"}
    assert modes["always"]["perMonth"]["executed"] > modes["cron"]["perMonth"]["executed"]
    assert body["seedTables"]["cron"]["5"] == 172_800
    measured = body["measured"]
    assert measured["seconds"] == 1 and measured["measurementCost"] == 4
    assert measured["refused"] == []
    assert body["recommendation"]["pick"]


async def test_what_if_inputs_change_the_projection(client: httpx.AsyncClient) -> None:
    one = (await client.get("/admin/queues/api/cost?queues=1")).json()
    ten = (await client.get("/admin/queues/api/cost?queues=10&worker=node")).json()
    always = lambda body: body["modes"][0]["perMonth"]["executed"]  # noqa: E731
    assert always(ten) == 10 * always(one)


async def test_bad_inputs_are_400(client: httpx.AsyncClient) -> None:
    for query in ("queues=0", "queues=abc", "worker=ruby", "measure=1000", "quota=-5"):
        response = await client.get(f"/admin/queues/api/cost?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"].endswith(".")


async def test_panel_page_renders_chart_and_advice(client: httpx.AsyncClient) -> None:
    page = await client.get("/admin/queues/cost?queues=3&cron_interval_min=15")
    assert page.status_code == 200
    assert page.text.count('class="meter') == 4 and 'class="quota"' in page.text
    assert (
        "<code>drainboard worker --mode cron</code> and <code>drainboard drain</code>" in page.text
    )
    assert "WORKER_INPROCESS" not in page.text and "drainDelay (s)" not in page.text
    live = await client.get("/admin/queues/cost/live?measure=1")
    assert live.status_code == 200 and "measurement cost 4 commands" in live.text


async def test_chart_and_table_print_the_same_figure_for_every_mode(
    client: httpx.AsyncClient,
) -> None:
    # The case: the cron mode read 3% in the chart and 3.5% in the table.
    for query in ("", "queues=3&cron_interval_min=15", "quota=7777&worker=python"):
        page = (await client.get(f"/admin/queues/cost?{query}")).text
        bars = {
            mode: (month, share)
            for mode, month, share in re.findall(
                r'<li data-mode="([^"]+)">.*?<span class="value">([^<]+) a month, '
                r'<span class="share">([^<]+)</span>',
                page,
                re.S,
            )
        }
        rows = {
            mode: (month, share)
            for mode, month, share in re.findall(
                r'<tr data-mode="([^"]+)">.*?data-label="Executed / month">([^<]+)</td>'
                r'<td class="num share[^"]*" data-label="Quota">([^<]+)</td>',
                page,
                re.S,
            )
        }
        assert set(bars) == {"always", "cron", "cron-seed", "on-demand"}, query
        assert bars == rows, query
