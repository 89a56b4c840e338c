"""Busy polling (dashboard/drain/busy_poll.py) on real servers: a CLI drain at concurrency 1
reads its answers from the socket, counts what Redis ran, stops when cancelled, and gives up
polling a Redis slower to answer than a poll waits; a drain that was not asked to never polls."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from bullmq import Queue

from dashboard import cli
from dashboard.drain import busy_poll
from dashboard.drain import engine as engine_module
from dashboard.drain.busy_poll import MISSES
from dashboard.drain.engine import DrainEngine, DrainOptions
from dashboard.redis_client.connection import connect
from dashboard.redis_client.counting import tally
from tests.helpers import executed_commands, free_port


@pytest.fixture(autouse=True)
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polling needs two usable cores; the test machine's are not the subject."""
    monkeypatch.setattr(busy_poll, "usable_cores", lambda: 2)


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls that wait 50 ms for an answer and hold the loop up to a second: the tests that
    count the answers polled must not depend on how busy the test machine keeps Redis."""
    monkeypatch.setattr(busy_poll, "POLL_S", 0.05)
    monkeypatch.setattr(busy_poll, "HOLD_S", 1.0)


async def add_jobs(url: str, queue: str, count: int) -> None:
    q = Queue(queue, {"connection": url})
    await q.addBulk([{"name": "j", "data": {"n": n}} for n in range(count)])
    await q.close()


async def test_a_busy_polled_drain_reads_its_answers_from_the_socket(
    r, server_url: str, patient: None
) -> None:
    """Quick jobs and jobs that wait alternate: every job completes, the answers the relay
    awaited were read by polling (all but those after a job that waited, which the slot's task
    awaits), and the drain's figure is what Redis ran."""
    await add_jobs(server_url, "polled", 200)

    async def handler(job: Any) -> str:
        if job.data["n"] % 50 == 0:
            await asyncio.sleep(0.001)
        return "ok"

    client = connect(server_url)
    try:
        await client.ping()
        engine = DrainEngine(client, "bull", {"polled": handler}, busy_poll=True)
        before = await executed_commands(r)
        with tally() as spent:
            result = await engine.drain(DrainOptions(("polled",)))
        executed = await executed_commands(r) - before
    finally:
        await client.aclose()
    assert (result.queues["polled"].jobs_processed, result.total_failed) == (200, 0)
    assert await r.zcard("bull:polled:completed") == 200
    assert spent.commands == executed
    assert 180 <= engine.polls.reads < 200
    assert engine.polls.gave_up == 0


async def test_a_drain_not_asked_to_never_polls(server_url: str) -> None:
    """The web app's engine (and the CLI's with --no-busy-poll) waits in the event loop."""
    await add_jobs(server_url, "waited", 50)
    client = connect(server_url)
    try:
        engine = DrainEngine(client, "bull", {"waited": _quick})
        result = await engine.drain(DrainOptions(("waited",)))
    finally:
        await client.aclose()
    assert result.queues["waited"].jobs_processed == 50
    assert engine.polls.reads == 0


async def test_two_queues_drained_at_once_are_polled_only_alone(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While both queues are relayed neither connection is polled (each poll would hold the
    loop from the other's answers); before the short queue starts and once it is done, the
    long one is. Polls hold the loop as long as they do in use (HOLD_S), which lets the short
    queue start."""
    monkeypatch.setattr(busy_poll, "POLL_S", 0.05)
    await add_jobs(server_url, "long", 3000)
    await add_jobs(server_url, "short", 20)
    client = connect(server_url)
    polled_while_both: list[int] = []
    engine: DrainEngine

    async def short(job: Any) -> str:
        polled_while_both.append(engine.polls.reads)
        return "ok"

    try:
        engine = DrainEngine(client, "bull", {"long": _quick, "short": short}, busy_poll=True)
        result = await engine.drain(DrainOptions(("long", "short"), max_concurrent_queues=2))
    finally:
        await client.aclose()
    assert result.total_processed == 3020
    assert len(polled_while_both) == 20
    assert len(set(polled_while_both)) == 1  # no poll from the short queue's first job to its last
    assert engine.polls.reads > 2000  # the long queue's, alone


async def test_a_busy_polled_drain_cancelled_from_outside_stops(
    r, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shutdown reaches a drain that polls within a poll's hold of the loop: nothing
    completes afterwards, and the connection is back in the pool. (Polls wait 50 ms, so that
    a busy test machine cannot make them give up before the cancel.)"""
    monkeypatch.setattr(busy_poll, "POLL_S", 0.05)
    await add_jobs(server_url, "stopped", 5000)
    client = connect(server_url, max_connections=20)
    try:
        engine = DrainEngine(client, "bull", {"stopped": _quick}, busy_poll=True)
        drain = asyncio.ensure_future(engine.drain(DrainOptions(("stopped",))))
        await asyncio.sleep(0.1)
        drain.cancel()
        await asyncio.gather(drain, return_exceptions=True)
        assert drain.cancelled()
        assert engine.polls.reads > 0
        finished = await r.zcard("bull:stopped:completed")
        await asyncio.sleep(0.3)
        assert 0 < await r.zcard("bull:stopped:completed") == finished < 5000
        assert not client.connection_pool._in_use_connections
        assert engine.polls.relays == 0
    finally:
        await client.aclose()


@pytest.fixture
def slow_link(server_url: str) -> Iterator[str]:
    """The server behind a proxy that delays each of its answers by 3 ms, three times a poll's
    wait: a Redis far away. In a process of its own, so that a poll holding this test's
    event loop does not hold the proxy too."""
    port = free_port()
    target = urlsplit(server_url)
    proxy = subprocess.Popen(
        [sys.executable, "-c", PROXY, str(port), str(target.hostname), str(target.port)],
        stdout=subprocess.PIPE,
    )
    assert proxy.stdout is not None
    assert proxy.stdout.readline() == b"ready\n"
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        proxy.kill()
        proxy.wait()


PROXY = textwrap.dedent(
    """
    import socket, sys, threading, time

    def pipe(source, sink, delay):
        while data := source.recv(65536):
            time.sleep(delay)
            sink.sendall(data)
        sink.close()

    listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    print("ready", flush=True)
    while True:
        client, _ = listener.accept()
        server = socket.create_connection((sys.argv[2], int(sys.argv[3])))
        for source, sink, delay in ((client, server, 0), (server, client, 0.003)):
            threading.Thread(target=pipe, args=(source, sink, delay), daemon=True).start()
    """
)


async def test_polling_gives_up_on_a_redis_slower_than_a_polls_wait(
    r, server_url: str, slow_link: str
) -> None:
    await add_jobs(server_url, "far", 30)
    client = connect(slow_link)
    try:
        engine = DrainEngine(client, "bull", {"far": _quick}, busy_poll=True)
        result = await engine.drain(DrainOptions(("far",)))
    finally:
        await client.aclose()
    assert (result.queues["far"].jobs_processed, result.total_failed) == (30, 0)
    assert await r.zcard("bull:far:completed") == 30
    assert (engine.polls.reads, engine.polls.gave_up) == (0, 1)
    assert MISSES < 30


@pytest.mark.parametrize("flags", [[], ["--no-busy-poll"]])
def test_the_cli_drain_polls_unless_told_not_to(
    server_url: str, flags: list[str], monkeypatch: pytest.MonkeyPatch, patient: None
) -> None:
    made: list[busy_poll.Polls] = []

    class Seen(busy_poll.Polls):
        def __init__(self, enabled: bool) -> None:
            super().__init__(enabled)
            made.append(self)

    monkeypatch.setattr(engine_module, "Polls", Seen)
    asyncio.run(add_jobs(server_url, "noop", 100))
    processors = ["--processors", "tests.drain_processors:PROCESSORS"]
    args = ["drain", "--redis-url", server_url, "--queue", "noop", *processors, *flags]
    assert cli.main(args) == 0
    [polls] = made
    with redis.Redis.from_url(server_url) as r:
        assert r.zcard("bull:noop:completed") == 100
    if flags:
        assert (polls.enabled, polls.reads) == (False, 0)
    else:
        assert polls.enabled and polls.reads >= 90


async def _quick(job: Any) -> str:
    return "ok"
