"""`rediss://` URLs, as managed Redis services hand them out: Debian's redis-server with TLS only
(plain port off), a throwaway CA and server certificate made with `openssl` for this module.

redis-py's own URL parameters carry the TLS settings: `ssl_ca_certs=/path/ca.pem` to verify the
server, `ssl_cert_reqs=none` to skip verification.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from bullmq import Queue

from dashboard import demo
from dashboard.config import Settings
from dashboard.drain import busy_poll
from dashboard.drain.engine import DrainEngine, DrainOptions
from dashboard.redis_client.connection import connect
from dashboard.web.errors import REDIS_TLS
from tests.helpers import free_port, make_client, start_redis


@dataclass
class TlsServer:
    port: int
    ca: Path
    other_ca: Path  # a CA that did not sign the server's certificate

    def url(self, query: str) -> str:
        return f"rediss://127.0.0.1:{self.port}/0?{query}"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(name: str, cwd: Path) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
             f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=cwd)  # fmt: skip


def _make_certificates(cwd: Path) -> None:
    _make_ca("ca", cwd)
    _make_ca("other-ca", cwd)
    (cwd / "san.cnf").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=cwd)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "1", "-extfile", "san.cnf", "-out", "server.pem",
             cwd=cwd)  # fmt: skip


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    with tempfile.TemporaryDirectory(prefix="drainboard-tls-") as tmp:
        workdir = Path(tmp)
        _make_certificates(workdir)
        port = free_port()
        process = start_redis(
            0,  # --port 0: no plain-text listener at all
            "--tls-port", str(port),
            "--tls-cert-file", str(workdir / "server.pem"),
            "--tls-key-file", str(workdir / "server.key"),
            "--tls-ca-cert-file", str(workdir / "ca.pem"),
            "--tls-auth-clients", "no",
            "--dir", str(workdir),
        )  # fmt: skip
        server = TlsServer(port, workdir / "ca.pem", workdir / "other-ca.pem")
        try:
            _wait_for_tls(server.url(f"ssl_ca_certs={quote(str(server.ca))}"))
            asyncio.run(demo.fill(server.url(f"ssl_ca_certs={quote(str(server.ca))}")))
            yield server
        finally:
            process.terminate()
            process.wait(10)


def _wait_for_tls(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                asyncio.run(asyncio.sleep(0.05))
        client.ping()
    finally:
        client.close()


def test_the_plain_port_is_off(tls_server: TlsServer) -> None:
    """The server speaks TLS only: a plain redis:// client on its port cannot talk to it."""
    plain = redis.Redis(port=tls_server.port, socket_connect_timeout=2, socket_timeout=2)
    with pytest.raises(redis.ConnectionError):
        plain.ping()
    plain.close()


@pytest.mark.parametrize("query", ["ssl_ca_certs={ca}", "ssl_cert_reqs=none"])
async def test_the_dashboard_reads_queues_over_tls(tls_server: TlsServer, query: str) -> None:
    url = tls_server.url(query.format(ca=quote(str(tls_server.ca))))
    async with make_client(Settings(redis_url=url)) as http:
        overview = await http.get("/admin/queues/")
        assert overview.status_code == 200
        assert "batch-jobs" in overview.text and "retrain-jobs" in overview.text
        queues = (await http.get("/admin/queues/api/queues")).json()["queues"]
        counts = {q["name"]: q["counts"] for q in queues}
        assert counts["batch-jobs"]["completed"] > 0 and counts["dsar-jobs"]["failed"] > 0
        job = await http.get("/admin/queues/api/queues/batch-jobs/jobs/hostile-html")
        assert job.status_code == 200 and job.json()["state"] == "waiting"


async def test_a_certificate_from_another_ca_is_refused_with_a_sentence(
    tls_server: TlsServer,
) -> None:
    url = tls_server.url(f"ssl_ca_certs={quote(str(tls_server.other_ca))}")
    async with make_client(Settings(redis_url=url, queues=("batch-jobs",))) as http:
        page = await http.get("/admin/queues/api/queues")
    assert page.status_code == 503
    assert page.json() == {"error": REDIS_TLS, "status": 503}


async def test_a_drain_completes_its_jobs_over_tls(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drain reads its completions' answers on the TLS transport's own socket protocol
    (dashboard/drain/finish.py's Wire), at concurrency 1 and several slots on one connection,
    and hands the connection back for the drain's last commands. Asked to busy-poll, it does
    not: the socket's bytes are encrypted."""
    monkeypatch.setattr(busy_poll, "usable_cores", lambda: 2)
    url = tls_server.url(f"ssl_ca_certs={quote(str(tls_server.ca))}")
    queue = Queue("tls-drain", {"connection": url})
    try:
        for n in range(30):
            await queue.add("j", {"n": n})
    finally:
        await queue.close()
    client = connect(url)
    try:
        engine = DrainEngine(client, "bull", {"tls-drain": _done}, busy_poll=True)
        first = await engine.drain(DrainOptions(("tls-drain",), max_jobs_per_queue=10))
        rest = await engine.drain(DrainOptions(("tls-drain",), concurrency=4))
        assert (first.queues["tls-drain"].jobs_processed, first.total_failed) == (10, 0)
        assert (rest.queues["tls-drain"].jobs_processed, rest.total_failed) == (20, 0)
        assert await client.zcard("bull:tls-drain:completed") == 30
        assert await client.llen("bull:tls-drain:wait") == 0
        assert engine.polls.reads == 0
    finally:
        await client.aclose()


async def _done(job: Any) -> str:
    return "done"
