"""Bull Board, served by Node beside drainboard, so a benchmark measures both in the same run.

bench/bullboard/ pins Bull Board (`@bull-board/api`, `@bull-board/express`), Express and
BullMQ 5.81.5; `server.mjs` there serves the board at /admin/queues with one BullMQAdapter per
queue. `npm ci` runs the first time the server is wanted and node_modules is missing.

    add_flag(parser)                       # --bull-board / --no-bull-board
    skip = why_not(args.bull_board)        # None: run it; else the reason it will not run
    board = BullBoardServer(url, ["q1", "q2"]).start()
    board.base_url, board.pid, board.reset_peak_rss(), board.peak_rss_kib(); board.stop()
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import free_port

NODE_DIR = Path(__file__).resolve().parent / "bullboard"
SERVER = NODE_DIR / "server.mjs"
BASE_PATH = "/admin/queues"
_API_PACKAGE = NODE_DIR / "node_modules" / "@bull-board" / "api" / "package.json"


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bull-board",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also measure Bull Board in the same run (default: on when node and npm are found)",
    )


def why_not(flag: bool | None) -> str | None:
    """None when Bull Board should be measured; otherwise why not, for the report.

    `flag` is the --bull-board value: None (the default) measures it when it can, True
    insists (exits if it cannot), False skips it.
    """
    if flag is False:
        return "--no-bull-board was given"
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    reason = f"{' and '.join(missing)} not found on PATH" if missing else None
    if reason is None:
        try:
            ensure_installed()
        except RuntimeError as err:
            reason = str(err)
    if reason is not None and flag:
        raise SystemExit(f"--bull-board: {reason}")
    return reason


def ensure_installed() -> None:
    """`npm ci` in bench/bullboard when its node_modules is missing."""
    if _API_PACKAGE.exists():
        return
    print(f"Bull Board: npm ci in {NODE_DIR} (first use)...", flush=True)
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not _API_PACKAGE.exists():
        raise RuntimeError(f"npm ci in {NODE_DIR} failed:\n{done.stderr[-2000:]}")


def versions() -> str:
    """The installed versions, read from node_modules: what was actually measured."""

    def version(*parts: str) -> str:
        path = NODE_DIR.joinpath("node_modules", *parts, "package.json")
        return json.loads(path.read_text())["version"]

    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    return (
        f"Bull Board {version('@bull-board', 'api')} "
        f"(@bull-board/express {version('@bull-board', 'express')}, "
        f"express {version('express')}, bullmq {version('bullmq')}), Node {node.stdout.strip()}"
    )


def status_kib(pid: int | str, field: str) -> int:
    """A `VmHWM:`/`VmRSS:` line of /proc/<pid>/status (pid may be "self"), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak_rss(pid: int | str) -> None:
    """Set VmHWM back to the current RSS (Linux: `5` into /proc/<pid>/clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class BullBoardServer:
    """`node bench/bullboard/server.mjs` in a child process, stopped by `stop()`."""

    def __init__(self, redis_url: str, queues: list[str], prefix: str = "bull") -> None:
        self.redis_url = redis_url
        self.queues = list(queues)
        self.prefix = prefix
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.base_path = BASE_PATH
        self._process: subprocess.Popen[bytes] | None = None
        handle, name = tempfile.mkstemp(prefix="bullboard-serve-", suffix=".log")
        os.close(handle)
        self._log = Path(name)

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("Bull Board is not running")
        return self._process.pid

    def start(self, timeout: float = 30.0) -> BullBoardServer:
        ensure_installed()
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    "node",
                    str(SERVER),
                    "--port",
                    str(self.port),
                    "--redis-url",
                    self.redis_url,
                    "--queues",
                    ",".join(self.queues),
                    "--prefix",
                    self.prefix,
                ],
                cwd=NODE_DIR,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        assert self._process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            line = b""
            while not line.endswith(b"\n"):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    text = self.log()
                    self.stop()
                    raise SystemExit(f"Bull Board's server did not start:\n{text}")
                if selector.select(timeout=0.1):
                    chunk = os.read(self._process.stdout.fileno(), 4096)
                    line += chunk
        if json.loads(line.decode().splitlines()[0]).get("listening") != self.port:
            raise SystemExit(f"Bull Board's server said {line!r}")
        # The first API call opens the queues' Redis connections: not part of any measurement.
        response = httpx.get(f"{self.base_url}{BASE_PATH}/api/queues", timeout=30)
        if response.status_code != 200:
            text = response.text[:2000]
            self.stop()
            raise SystemExit(f"Bull Board's /api/queues answered {response.status_code}:\n{text}")
        return self

    def rss_kib(self) -> int:
        return status_kib(self.pid, "VmRSS")

    def peak_rss_kib(self) -> int:
        """The Node process's peak resident set size (VmHWM) since start or `reset_peak_rss`."""
        return status_kib(self.pid, "VmHWM")

    def reset_peak_rss(self) -> None:
        reset_peak_rss(self.pid)

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
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        self._log.unlink(missing_ok=True)
