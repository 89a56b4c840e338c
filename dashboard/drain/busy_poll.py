"""Busy polling: a CLI drain at concurrency 1 reads Redis' next answer by polling its socket
instead of sleeping until the event loop is woken.

At concurrency 1 a drain waits for one answer at a time (drain/relay.py). Sleeping in the event
loop's epoll until it comes costs a wake-up on every job: the kernel switches the drain out,
and Redis' answer has to wake it, often on a halted core. On the 2-core VM this repository is
measured on, one EVALSHA's round trip took 74 µs through uvloop and 25 µs when the socket was
polled, and a drain of no-op jobs went from about 7,000 to 12,000 jobs a second
(bench/drain.py, `--no-busy-poll` beside the default). The cost is a core kept busy while the
drain runs: it polls while Redis works.

So it is the CLI's (`drainboard drain`; `--no-busy-poll` turns it off), never the web app's,
whose event loop must not be held from its pages. And only where it pays:
- at concurrency 1, while the relay waits on its own completion's answer;
- on a plain socket: TLS bytes must go through the transport's decryption;
- when the process may use two cores or more (its affinity and a container's CPU quota): on
  one, the poll would take the core a Redis on the same machine needs to answer, and a quota
  would throttle a poll that uses all of it;
- while a single queue is relayed: a poll holds the loop from the other queues' answers.
A poll that finds no answer within POLL_S gives the wait back to the loop; after MISSES in a
row (a Redis far away, scripts slower than that) the connection is not polled again. Polling
gives the loop its turn once it has held it HOLD_S, so the loop waits at most that, one poll's
wait and one handler's run (the lock manager's renewals, the deadline, signals).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# How long one poll waits for an answer before the event loop's wait takes over: some 20 times
# a local Redis' answer to a completion.
POLL_S = 0.001
# How long polling holds the event loop from everything else at a time.
HOLD_S = 0.005
# Polls in a row that found no answer, after which a connection is not polled again.
MISSES = 8
# Bytes read at once: a completion's answer is the next job's hash.
READ_SIZE = 65536


# A container's CPU quota, as cgroup v2 and v1 show it inside the container.
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # "<quota µs|max> <period µs>"
CFS_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")  # -1 without a quota
CFS_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def usable_cores() -> float:
    """The cores' worth of CPU time this process may use: the cores it may run on (its
    affinity where the platform says), fewer under a container's CPU quota."""
    if hasattr(os, "sched_getaffinity"):
        cores = float(len(os.sched_getaffinity(0)))
    else:
        cores = float(os.cpu_count() or 1)
    quota = cpu_quota()
    return cores if quota is None else min(cores, quota)


def cpu_quota() -> float | None:
    """The CPUs' worth a container's quota allows (cgroup v2, else v1), None without one."""
    try:
        quota, period = CPU_MAX.read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(CFS_QUOTA.read_text())
        return None if quota_us <= 0 else quota_us / int(CFS_PERIOD.read_text())
    except (OSError, ValueError, ZeroDivisionError):
        return None


class Polls:
    """A drain engine's busy polling: whether its relays may poll, and what the polls found
    (the tests read `reads` and `gave_up`)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and usable_cores() >= 2
        self.relays = 0  # queues being relayed now
        self.reads = 0  # socket reads by polling that found bytes: an answer, or part of one
        self.gave_up = 0  # connections no longer polled (MISSES in a row)

    def poller(self, transport: Any) -> Poller | None:
        """A poller of the transport's socket, where busy polling may run on it."""
        if not self.enabled or transport.get_extra_info("sslcontext") is not None:
            return None
        sock = transport.get_extra_info("socket")
        return None if sock is None else Poller(self, sock.fileno())


class Poller:
    """One connection's socket, read directly while a relay waits on its answer. The
    transport's own reads find what is left: the bytes read here are handed to its protocol."""

    def __init__(self, polls: Polls, fd: int) -> None:
        self.polls = polls
        self.fd = fd
        self.misses = 0

    def reads(self, waiting: Callable[[], bool]) -> Iterator[bytes]:
        """What arrives on the socket while `waiting` says an answer is awaited, until a poll
        finds none in time, the stream ends or fails, or the loop is due its turn."""
        polls = self.polls
        if polls.relays != 1:
            return
        held_until = time.perf_counter() + HOLD_S
        while self.misses < MISSES and waiting():
            data = self._poll()
            if data is None:
                self.misses += 1
                if self.misses == MISSES:
                    polls.gave_up += 1
                return
            if not data:
                return  # the end of the stream: the transport hears it on its own read
            self.misses = 0
            polls.reads += 1
            yield data
            if time.perf_counter() >= held_until:
                return

    def _poll(self) -> bytes | None:
        """The bytes that came within POLL_S, or None; b"" at the end of the stream or at an
        error (a reset), after which the transport's own read finds the connection closed."""
        fd = self.fd
        until = time.perf_counter() + POLL_S
        while True:
            try:
                return os.read(fd, READ_SIZE)
            except BlockingIOError:
                if time.perf_counter() >= until:
                    return None
            except OSError:
                return b""
