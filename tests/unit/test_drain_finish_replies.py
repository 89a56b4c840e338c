"""How the drain reads moveToFinished's answer (dashboard/drain/finish.py): as bullmq does."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from bullmq.scripts import raw2NextJobData

from dashboard.drain.finish import Wire, next_job_data


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        0,
        [["name", "j", "data", '{"n":1}', "opts", "{}", "atm", "2"], "7", 0, 0],
        [["name", "j"], "8", 1700000000000, 1700000005000],
        [None, None, 1700000000000, 0],  # rate limited: no job, but its limit
        [[], "9"],  # the two-item answer of an older script
        [None, "0"],
    ],
)
def test_next_job_data_is_bullmqs(raw: Any) -> None:
    assert next_job_data(raw) == raw2NextJobData(raw)


class _Transport:
    """What Wire asks of the connection's transport: its protocol, and the writes."""

    def __init__(self) -> None:
        self.protocol: Any = None
        self.written: list[bytes] = []

    def get_protocol(self) -> Any:
        return self.protocol

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def write(self, data: bytes) -> None:
        self.written.append(data)


async def test_a_push_between_answers_answers_no_completion() -> None:
    """A RESP3 push (a server's maintenance notice, client tracking) arriving before a
    completion's answer is not taken for it, and the answers after it stay in step."""
    transport = _Transport()
    connection = SimpleNamespace(
        _writer=SimpleNamespace(transport=transport),
        encoder=SimpleNamespace(decode_responses=True, encoding="utf-8", encoding_errors="strict"),
    )
    wire = Wire(connection)  # type: ignore[arg-type]
    first, second = wire.send(b"first"), wire.send(b"second")
    wire.data_received(b">2\r\n$6\r\nMOVING\r\n:1\r\n*2\r\n:3\r\n$2\r\nok\r\n")
    wire.data_received(b">1\r\n$4\r\nNOTE\r\n:5\r\n")
    assert await first == [3, "ok"]
    assert await second == 5
    assert transport.written == [b"first", b"second"]
