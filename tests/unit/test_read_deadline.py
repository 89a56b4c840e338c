"""The reads' deadline (counting.ReadDeadline): a read running past READ_TIMEOUT_S ends with
TimeoutError, as under asyncio.timeout, and nothing else changes: a cancellation from elsewhere
stays one, and reads that end in time leave nothing behind."""

from __future__ import annotations

import asyncio

import pytest

from dashboard.redis_client import counting
from dashboard.redis_client.counting import ReadDeadline


async def _read(seconds: float) -> str:
    with ReadDeadline():
        await asyncio.sleep(seconds)
    return "answered"


async def test_a_read_past_its_deadline_raises_timeout_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(counting, "READ_TIMEOUT_S", 0.05)
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError):
        await _read(5)
    assert asyncio.get_running_loop().time() - started < 1
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the cancellation was its own
    assert await _read(0) == "answered"


async def test_an_earlier_deadline_is_kept_while_a_later_one_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One timer serves every read: a read whose deadline comes first still gets its own."""
    slow = asyncio.create_task(_read(0.5))  # READ_TIMEOUT_S of 10 s: answers in time
    await asyncio.sleep(0)
    monkeypatch.setattr(counting, "READ_TIMEOUT_S", 0.05)
    with pytest.raises(TimeoutError):
        await _read(5)
    assert await slow == "answered"


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    task = asyncio.create_task(_read(5))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_reads_on_their_own_tasks_each_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(counting, "READ_TIMEOUT_S", 0.05)
    answers = await asyncio.gather(_read(5), _read(0), _read(5), return_exceptions=True)
    assert [type(a) for a in answers] == [TimeoutError, str, TimeoutError]
