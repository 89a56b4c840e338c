"""How `drainboard serve` runs uvicorn: a small answer's head and body in one write."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dashboard import cli
from dashboard.config import Settings
from dashboard.web import server

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    """A transport that records what reaches the socket, one entry per system call."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def writelines(self, pieces: list[bytes]) -> None:
        self.sent.append(b"".join(pieces))  # one writev

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 3000) if name in ("sockname", "peername") else default


async def test_a_head_and_its_body_go_out_in_one_write() -> None:
    socket = Recorder()
    transport = server.HeadWithBody(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(HEAD)
    assert socket.sent == []
    transport.write(b"{}")
    assert socket.sent == [HEAD + b"{}"]
    await asyncio.sleep(0)  # the end of the iteration writes nothing more
    assert socket.sent == [HEAD + b"{}"]


async def test_a_head_alone_goes_out_at_the_end_of_the_iteration() -> None:
    """A stream's head (live updates) is not held until its first event."""
    socket = Recorder()
    transport = server.HeadWithBody(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(HEAD)
    await asyncio.sleep(0)
    assert socket.sent == [HEAD]
    transport.write(b"data: 1\n\n")
    transport.write(b"data: 2\n\n")  # later writes join the first held one: never reordered
    await asyncio.sleep(0)
    assert socket.sent == [HEAD, b"data: 1\n\ndata: 2\n\n"]


async def test_closing_writes_what_is_held_first() -> None:
    socket = Recorder()
    transport = server.HeadWithBody(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(HEAD)
    transport.close()
    assert socket.sent == [HEAD] and socket.closed
    assert transport.get_extra_info("peername") == ("127.0.0.1", 3000)


async def test_what_is_held_for_a_client_gone_meanwhile_goes_nowhere() -> None:
    socket = Recorder()
    transport = server.HeadWithBody(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(HEAD)
    socket.close()  # the connection is lost before the end of the iteration
    await asyncio.sleep(0)
    assert socket.sent == []


def test_serve_runs_uvicorn_with_the_one_write_protocol_and_no_server_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: dict[str, Any] = {}
    monkeypatch.setattr(cli.uvicorn, "run", lambda target, **options: ran.update(options))
    cli._serve(Settings(redis_url="redis://127.0.0.1:1"), "127.0.0.1", 3000, no_auth=False)
    assert ran["http"] is server.OneWriteProtocol
    assert ran["server_header"] is False
    assert ran["timeout_graceful_shutdown"] == 3
