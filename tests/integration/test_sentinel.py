"""Redis Sentinel (`redis+sentinel://`): Debian's redis-server as a primary, a replica and a
Sentinel watching them. Pages, counts and drains go to the primary Sentinel names; after a
failover they follow the new primary by themselves."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from bullmq import Queue

from dashboard.config import ConfigError, Settings
from dashboard.drain.workers import AlwaysOnWorkers
from dashboard.redis_client.connection import cluster_mode, connect
from tests.drain_processors import noop
from tests.helpers import csrf_token, free_port, make_client, start_redis, wait_for

SERVICE = "drainboard-primary"


@dataclass
class SentinelSetup:
    primary_port: int
    replica_port: int
    sentinel: redis.Redis
    url: str

    def primary(self) -> int:
        return int(self.sentinel.sentinel_get_master_addr_by_name(SERVICE)[1])


def _wait(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def sentinel_setup() -> Iterator[SentinelSetup]:
    workdir = Path(tempfile.mkdtemp(prefix="drainboard-sentinel-"))
    primary_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    processes = [start_redis(primary_port, "--dir", str(workdir))]
    replica_dir = workdir / "replica"
    replica_dir.mkdir()
    processes.append(
        start_redis(
            replica_port, "--dir", str(replica_dir), "--replicaof", "127.0.0.1", str(primary_port)
        )
    )
    config = workdir / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {workdir}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 1\n"
        f"sentinel down-after-milliseconds {SERVICE} 1000\n"
        f"sentinel failover-timeout {SERVICE} 5000\n"
    )
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed; run the tests with `make test`."
    processes.append(
        subprocess.Popen([binary, str(config), "--sentinel"], stdout=subprocess.DEVNULL)
    )
    sentinel = redis.Redis(port=sentinel_port, decode_responses=True)
    try:
        wait_for(f"redis://127.0.0.1:{replica_port}")
        wait_for(f"redis://127.0.0.1:{sentinel_port}")
        replica = redis.Redis(port=replica_port, decode_responses=True)
        _wait(lambda: replica.info("replication")["master_link_status"] == "up")
        _wait(lambda: sentinel.sentinel_master(SERVICE)["num-slaves"] >= 1)
        url = f"redis+sentinel://127.0.0.1:{sentinel_port}/{SERVICE}"
        yield SentinelSetup(primary_port, replica_port, sentinel, url)
    finally:
        sentinel.close()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def test_sentinel_urls_are_checked_and_never_asked_for_cluster_mode() -> None:
    with pytest.raises(ConfigError, match="primary name"):
        Settings.from_env({"REDIS_URL": "redis+sentinel://127.0.0.1:26379"})
    assert cluster_mode("redis+sentinel://127.0.0.1:1/nobody", None) is False  # nothing asked


async def test_pages_and_drains_follow_the_primary_through_a_failover(
    sentinel_setup: SentinelSetup,
) -> None:
    producer = connect(sentinel_setup.url)
    queue = Queue("mail", {"connection": producer})
    for i in range(3):
        await queue.add("send", {"i": i})
    settings = Settings(
        redis_url=sentinel_setup.url, processors="tests.drain_processors:PROCESSORS"
    )
    async with make_client(settings) as http:
        listed = (await http.get("/admin/queues/api/queues")).json()["queues"]
        assert {q["name"]: q["counts"]["waiting"] for q in listed} == {"mail": 3}
        page = await http.get("/admin/queues/queue/mail")
        assert page.status_code == 200 and page.text.count('data-job-id="') == 3

        # `drainboard worker --mode always` on the same URL: a bullmq Worker through Sentinel.
        sms = Queue("sms", {"connection": producer})
        await sms.add("text", {})
        workers = AlwaysOnWorkers(sentinel_setup.url, "bull", {"sms": noop}, ["sms"], 1)
        try:
            for _ in range(100):
                if await producer.zcard("bull:sms:completed") == 1:
                    break
                await asyncio.sleep(0.05)
        finally:
            await workers.close()
        assert await producer.zcard("bull:sms:completed") == 1
        await sms.close()

        old_primary = sentinel_setup.primary()
        sentinel_setup.sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
        _wait(lambda: sentinel_setup.primary() != old_primary)
        assert sentinel_setup.primary() == sentinel_setup.replica_port
        # Until Sentinel has turned the old primary into a replica, it still takes writes, which
        # its resync then discards (Redis replication is asynchronous): wait for that first.
        old = redis.Redis(port=old_primary, decode_responses=True)
        _wait(lambda: old.info("replication").get("master_link_status") == "up")
        old.close()
        # The old primary closes its clients' connections as it turns replica: the producer's
        # next command may find that out, and the one after asks Sentinel for the new primary.
        with contextlib.suppress(redis.ConnectionError):
            await producer.ping()
        await queue.add("send", {"i": 3})

        # The dashboard's connections to the old primary (now a replica) are told so on their
        # first write and reconnect through Sentinel: at most a 503 while that happens.
        token = await csrf_token(http)
        for _ in range(20):
            answer = await http.post(
                "/admin/queues/api/drain", params={"queue": "mail"}, headers={"X-CSRF-Token": token}
            )
            if answer.status_code == 200:
                break
            assert answer.status_code == 503, answer.text
            await asyncio.sleep(0.25)
        assert answer.json()["totalProcessed"] == 4
        new = redis.Redis(port=sentinel_setup.replica_port, decode_responses=True)
        assert new.zcard("bull:mail:completed") == 4  # written on the new primary
        new.close()
    await queue.close()
    await producer.aclose()
