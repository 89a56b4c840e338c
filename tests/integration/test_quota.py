"""The quota view against what each client really executed: idle Node BullMQ workers on two
queues and a Node QueueEvents, on a server of the test's own (Valkey counts per connection,
Redis 7.0 does not, so there the per-client figures are the model's).

What each client really executed comes from INFO commandstats over the same window: the
QueueEvents listener is the only client running XREAD, and the workers run everything else
(Drainboard's own measuring commands are outside the window)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from dashboard.config import NamedConnection, Settings
from tests.helpers import OwnRedis, make_client, make_jobs

ROOT = Path(__file__).resolve().parents[2]
API = "/admin/queues/api/quota"
PAGE = "/admin/queues/quota"
WINDOW_S = 60
WARM_UP_S = 8
TOLERANCE = 0.15


@pytest.fixture
def node_clients(own_server_url: str):
    """A Node Worker on `batch`, and a Worker and a QueueEvents on `mail`, idle."""
    process = subprocess.Popen(
        [
            "node",
            "idle.mjs",
            "5",
            own_server_url,
            str(WARM_UP_S + WINDOW_S + 30),
            "batch",
            "mail:events",
        ],
        cwd=ROOT / "tests" / "interop",
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    time.sleep(WARM_UP_S)
    yield own_server_url
    process.terminate()
    process.wait(10)


async def test_per_client_figures_match_what_each_executed(node_clients: str) -> None:
    url = node_clients
    settings = Settings(redis_url=url, queues=("batch", "mail"), quota=1_000_000)
    async with make_client(settings) as http:
        answer = await http.get(API, params={"seconds": WINDOW_S}, timeout=WINDOW_S + 30)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    print(report)
    rows = {(r["kind"], r["queue"]): r for r in report["clients"]}
    assert rows[("node-worker", "batch")]["workers"] == 1
    assert rows[("node-worker", "mail")]["workers"] == 1
    assert rows[("queue-events", "mail")]["connections"] == 1
    assert ("drainboard", None) in rows

    by_command = {c["command"]: c["perMinute"] for c in report["topCommands"]}
    listener_truth = by_command["xread"]
    workers_truth = report["redisPerMinute"] - listener_truth
    workers = sum(r["executedPerMinute"] for r in report["clients"] if r["kind"] == "node-worker")
    listener = rows[("queue-events", "mail")]["executedPerMinute"]
    measured = report["perClient"] == "measured"
    print(
        f"{url}: per client {report['perClient']}; workers {workers} vs {workers_truth:.1f}, "
        f"QueueEvents {listener} vs {listener_truth}; unaccounted {report['unaccountedPerMinute']}"
    )
    assert workers == pytest.approx(workers_truth, rel=TOLERANCE)
    assert listener == pytest.approx(listener_truth, rel=TOLERANCE)
    # Counted per connection, the clients add up to Redis' total; from the model, the rest
    # is shown as unaccounted.
    assert report["unaccountedPerMinute"] == pytest.approx(
        report["redisPerMinute"] - report["clientsPerMinute"], abs=0.1
    )
    if measured:
        assert abs(report["unaccountedPerMinute"]) <= TOLERANCE * report["redisPerMinute"]
    assert "tot-cmds" in report["perClientNote"] or measured

    month = report["month"]
    assert month["projected"] == round(report["redisPerMinute"] * 43_200, -1) or month[
        "projected"
    ] == pytest.approx(report["redisPerMinute"] * 43_200, rel=0.001)
    # About 250 a minute: 10.8M a month, so a 1M quota runs out within the first days.
    assert month["runsOutOnDay"] is not None and month["runsOutOnDay"] <= 5
    change = rows[("node-worker", "batch")]["change"]
    assert change.startswith("1 Node worker on batch: ") and change.endswith(
        "`drainboard drain` from a cron every 5 min: 17,280."
    ), change


async def test_the_page_shows_the_clients_the_month_and_the_unaccounted_part(
    node_clients: str,
) -> None:
    settings = Settings(redis_url=node_clients, queues=("batch", "mail"), quota=1_000_000)
    async with make_client(settings) as http:
        await http.get(PAGE)  # the app's first request pays its one-offs (a connection, a GET)
        idle = await http.get(PAGE)
        page = await http.get(PAGE, params={"seconds": 10}, timeout=40)
    # Nothing is measured until someone asks for a window.
    assert idle.status_code == 200 and idle.headers["x-redis-commands"] == "0"
    assert "Per client" not in idle.text
    assert page.status_code == 200, page.text
    for text in (
        'data-kind="node-worker" data-queue="batch"',
        'data-kind="queue-events" data-queue="mail"',
        "Redis' own total (INFO commandstats)",
        'id="unaccounted"',
        "The quota runs out on day",
        "`drainboard drain` from a cron every 5 min: 17,280.",
        "costs 4 commands on each primary",
    ):
        assert text in page.text, text


@pytest.mark.parametrize("seconds", ["", "9", "301", "ten", "-5", "30.5"])
async def test_a_window_outside_10_to_300_seconds_is_refused(valkey_url: str, seconds: str) -> None:
    async with make_client(Settings(redis_url=valkey_url)) as http:
        # The app's first request pays its one-offs (a connection, the session generation).
        await http.get(API, params={"seconds": seconds})
        answer = await http.get(API, params={"seconds": seconds})
        page = await http.get(PAGE, params={"seconds": seconds} if seconds else {})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("seconds must be"), answer.text
    assert answer.headers["x-redis-commands"] == "0"
    if seconds:
        assert page.status_code == 400


async def test_on_a_cluster_every_primary_is_measured(cluster_url: str) -> None:
    async with make_client(Settings(redis_url=cluster_url, cluster=True)) as http:
        answer = await http.get(API, params={"seconds": 10}, timeout=40)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["primaries"] == 3 and report["measurementCost"] == 12
    # Nothing but the measurement runs: Redis' total and the clients' sum are both about 0.
    assert abs(report["unaccountedPerMinute"]) <= 1, report


async def test_drainboards_own_row_is_what_it_spent_in_the_window(own_server_url: str) -> None:
    """Pages served during the window are Drainboard's row: Valkey counts them per connection;
    Redis 7.0 counts no client, and there the row is what the dashboard counted itself."""
    await make_jobs(own_server_url)
    settings = Settings(redis_url=own_server_url, queues=("mail",))
    async with make_client(settings) as http:
        await http.get("/admin/queues/")  # the first request's one-offs (connection, catalog)
        measuring = asyncio.create_task(http.get(API, params={"seconds": 10}, timeout=40))
        await asyncio.sleep(1)  # inside the window
        spent = 0
        for _ in range(20):
            page = await http.get("/admin/queues/queue/mail")
            spent += int(page.headers["x-redis-commands"])
            await asyncio.sleep(0.2)
        answer = await measuring
    assert answer.status_code == 200, answer.text
    report = answer.json()
    row = next(r for r in report["clients"] if r["kind"] == "drainboard" and r["queue"] is None)
    expected = spent * 60 / report["seconds"]
    print(report["perClient"], row, expected)
    assert row["source"] == (
        "measured" if report["perClient"] == "measured" else "counted by this dashboard"
    )
    assert row["executedPerMinute"] == pytest.approx(expected, rel=0.05)


async def test_a_named_connections_quota_view_knows_its_own_queues(
    two_redis: tuple[OwnRedis, OwnRedis],
) -> None:
    """On /c/beta/…, beta's clients are told apart by beta's queue names, not the first
    connection's: a Node worker on a queue only beta has is that queue's worker."""
    alpha, beta = (server.url for server in two_redis)
    process = subprocess.Popen(
        ["node", "idle.mjs", "5", beta, "40", "sms"],
        cwd=ROOT / "tests" / "interop",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        settings = Settings(
            redis_url=alpha,
            connections=(
                NamedConnection(name="alpha", redis_url=alpha, queues=("mail",)),
                NamedConnection(name="beta", redis_url=beta, queues=("sms",)),
            ),
        )
        async with make_client(settings) as http:
            answer = await http.get(
                "/admin/queues/c/beta/api/quota", params={"seconds": 10}, timeout=40
            )
    finally:
        process.terminate()
        process.wait(10)
    assert answer.status_code == 200, answer.text
    kinds = {(r["kind"], r["queue"]) for r in answer.json()["clients"]}
    assert ("node-worker", "sms") in kinds, kinds
