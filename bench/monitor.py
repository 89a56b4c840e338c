"""Executed Redis commands of one process, while other processes use the same server.

INFO commandstats counts every client together; under traffic, a dashboard's hundred commands
a minute would vanish in a worker's thousands. MONITOR names the client of every command it
shows, and a command run inside a script appears as `lua` just after the EVAL/EVALSHA that ran
it, so each line can be charged to a connection, and each connection (its local TCP port) to a
process through /proc. Every line is one executed command, as INFO commandstats counts them.

    counter = ProcessCommands(url).start()
    spent, by_command = counter.measure(pid, seconds)
    counter.stop()
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from pathlib import Path

import redis


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of the process's open sockets (IPv4 and IPv6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class ProcessCommands:
    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._lines: list[tuple[float, int, str]] = []  # (time, client port, command)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="monitor", daemon=True)

    def start(self) -> ProcessCommands:
        self._thread.start()
        time.sleep(0.3)
        return self

    def _listen(self) -> None:
        client = redis.Redis.from_url(self.url)
        port = 0
        with contextlib.suppress(redis.ConnectionError), client.monitor() as monitor:
            for line in monitor.listen():
                if self._stop.is_set():
                    break
                if line.get("client_type") != "lua":
                    port = int(line.get("client_port") or 0)
                # A script's own commands are charged to the client that sent the script.
                command = str(line.get("command", "")).split(" ", 1)[0].strip('"').lower()
                with self._lock:
                    self._lines.append((time.monotonic(), port, command))

    def measure(self, pid: int, seconds: float) -> tuple[int, dict[str, int]]:
        """Executed commands charged to `pid`'s connections over the next `seconds`."""
        ports: set[int] = set()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            ports |= local_ports(pid)  # sampled often: a connection may open and close
            time.sleep(0.2)
        ended = time.monotonic()
        ports |= local_ports(pid)
        with self._lock:
            lines = [(p, c) for t, p, c in self._lines if started <= t < ended]
            self._lines = [line for line in self._lines if line[0] >= ended]
        by_command = Counter(c for p, c in lines if p in ports)
        return sum(by_command.values()), dict(by_command)

    def stop(self) -> None:
        self._stop.set()
