"""The busy poller (dashboard/drain/busy_poll.py) on real loopback sockets: what it reads,
when it gives the wait back to the event loop, and when it does not poll at all."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.drain import busy_poll
from dashboard.drain.busy_poll import MISSES, Poller, Polls


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A TCP connection on loopback: the drain's end (non-blocking, as a transport's) and
    Redis' end."""
    listener = socket.create_server(("127.0.0.1", 0))
    ours = socket.create_connection(listener.getsockname())
    theirs, _ = listener.accept()
    listener.close()
    ours.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch) -> Polls:
    monkeypatch.setattr(busy_poll, "usable_cores", lambda: 2)
    polls = Polls(True)
    polls.relays = 1
    return polls


class FakeTransport:
    def __init__(self, sock: socket.socket | None, sslcontext: Any = None) -> None:
        self.extra = {"socket": sock, "sslcontext": sslcontext}

    def get_extra_info(self, name: str) -> Any:
        return self.extra[name]


def poller_of(polls: Polls, sock: socket.socket) -> Poller:
    poller = polls.poller(FakeTransport(sock))
    assert poller is not None
    return poller


def test_it_reads_each_answer_as_it_comes_while_one_is_awaited(pair, polls: Polls) -> None:
    ours, theirs = pair
    poller = poller_of(polls, ours)
    answers = [b"+first\r\n", b"+second\r\n"]
    theirs.sendall(answers[0])
    read: list[bytes] = []
    for data in poller.reads(lambda: len(read) < 2):
        read.append(data)
        if len(read) == 1:
            theirs.sendall(answers[1])  # the next command's answer
    assert read == answers
    assert (polls.reads, polls.gave_up, poller.misses) == (2, 0, 0)


def test_it_reads_nothing_when_no_answer_is_awaited(pair, polls: Polls) -> None:
    ours, theirs = pair
    theirs.sendall(b"+kept\r\n")
    assert list(poller_of(polls, ours).reads(lambda: False)) == []
    assert ours.recv(100) == b"+kept\r\n"  # left to the transport


def test_it_reads_nothing_while_two_queues_are_relayed(pair, polls: Polls) -> None:
    """Polling one connection would hold the loop from the other queue's answers."""
    ours, theirs = pair
    polls.relays = 2
    theirs.sendall(b"+kept\r\n")
    assert list(poller_of(polls, ours).reads(lambda: True)) == []
    assert ours.recv(100) == b"+kept\r\n"


def test_a_poll_without_an_answer_gives_the_wait_back_and_enough_of_them_stop_polling(
    pair, polls: Polls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(busy_poll, "POLL_S", 0.0001)
    ours, theirs = pair
    poller = poller_of(polls, ours)
    for missed in range(1, MISSES):
        assert list(poller.reads(lambda: True)) == []
        assert poller.misses == missed
    theirs.sendall(b"+late\r\n")
    read: list[bytes] = []
    read.extend(poller.reads(lambda: not read))
    assert read == [b"+late\r\n"]
    assert poller.misses == 0  # an answer in time: counted from 0 again
    for _ in range(MISSES):
        assert list(poller.reads(lambda: True)) == []
    assert polls.gave_up == 1
    theirs.sendall(b"+not polled\r\n")
    assert list(poller.reads(lambda: True)) == []


def test_it_gives_the_loop_its_turn_after_holding_it_for_hold_s(
    pair, polls: Polls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(busy_poll, "HOLD_S", 0.0)
    ours, theirs = pair
    theirs.sendall(b"+one\r\n")
    read = []
    for data in poller_of(polls, ours).reads(lambda: True):
        read.append(data)
        theirs.sendall(b"+two\r\n")
    assert read == [b"+one\r\n"]
    assert ours.recv(100) == b"+two\r\n"


def test_it_stops_at_the_end_of_the_stream(pair, polls: Polls) -> None:
    ours, theirs = pair
    theirs.close()
    assert list(poller_of(polls, ours).reads(lambda: True)) == []
    assert polls.reads == 0
    assert ours.recv(100) == b""  # the transport's read finds the end too


def test_it_stops_at_a_reset_and_the_transport_then_finds_the_connection_closed(
    pair, polls: Polls
) -> None:
    ours, theirs = pair
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    theirs.close()  # a reset, not an orderly end
    assert list(poller_of(polls, ours).reads(lambda: True)) == []
    assert ours.recv(100) == b""


def test_no_poller_for_tls_for_one_core_or_when_off(pair, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, _ = pair
    monkeypatch.setattr(busy_poll, "usable_cores", lambda: 2)
    assert Polls(True).poller(FakeTransport(ours, sslcontext=object())) is None
    assert Polls(False).poller(FakeTransport(ours)) is None
    assert Polls(True).poller(FakeTransport(None)) is None
    monkeypatch.setattr(busy_poll, "usable_cores", lambda: 1)
    assert Polls(True).poller(FakeTransport(ours)) is None


@pytest.mark.parametrize(
    ("v2", "v1_quota", "v1_period", "usable"),
    [
        (None, None, None, 3),  # no cgroup files: the affinity's 3 cores
        ("max 100000\n", None, None, 3),  # cgroup v2 without a quota
        ("150000 100000\n", None, None, 1.5),  # a quota of 1.5 CPUs (Kubernetes' "1500m")
        ("800000 100000\n", None, None, 3),  # a quota above the cores the process may use
        (None, "-1\n", "100000\n", 3),  # cgroup v1 without a quota
        (None, "50000\n", "100000\n", 0.5),  # cgroup v1, half a CPU
        ("garbage", None, None, 3),  # unreadable: as if there were none
    ],
)
def test_usable_cores_are_the_affinitys_within_a_containers_quota(
    tmp_path, monkeypatch: pytest.MonkeyPatch, v2, v1_quota, v1_period, usable
) -> None:
    monkeypatch.setattr(busy_poll.os, "sched_getaffinity", lambda pid: {0, 3, 5})
    for name, text in (("CPU_MAX", v2), ("CFS_QUOTA", v1_quota), ("CFS_PERIOD", v1_period)):
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        monkeypatch.setattr(busy_poll, name, path)
    assert busy_poll.usable_cores() == usable
    assert Polls(True).enabled == (usable >= 2)
