"""Fill one queue with a million finished jobs, laid out as BullMQ lays them out, in about a minute.

The newest few thousand jobs go through the `bullmq` package (add, a manual worker, completed or
failed for real), so they are exactly what BullMQ writes. Their hashes are then the templates
for the older jobs, which are written straight to Redis: one HSET per job hash with the same
fields in the same order, ZADDs of `<prefix>:<queue>:completed|failed` scored by finishedOn,
all sent as raw RESP in large pipelines. Ids run 1..N as BullMQ's `id` counter would hand
them out, and the counter is left at N.

This writes BullMQ keys by hand, which the product never does; it is only fast set-up.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import hiredis
import redis
from bullmq import Queue, Worker

# The meta version Node BullMQ writes; the Bull Board anchors were measured with this release.
META_VERSION = "bullmq:5.81.5"
# Jobs per pipeline flush.
CHUNK = 10_000
# Milliseconds between two bulk jobs (about 25 jobs/s, so a million jobs span ~11 hours).
STEP_MS = 40

_TENANTS = (b"acme", b"globex", b"initech", b"umbrella", b"hooli")
_FORMATS = (b"csv", b"parquet", b"xlsx")


@dataclass(frozen=True)
class LoadResult:
    completed: int
    failed: int
    real_jobs: int
    seconds_real: float
    seconds_bulk: float
    newest_completed_id: str
    oldest_completed_id: str
    middle_completed_id: str
    middle_failed_id: str


def _fails(i: int, total: int, failed: int) -> bool:
    """Spread `failed` failures evenly over jobs 1..total (exactly `failed` of them)."""
    return (i * failed) // total > ((i - 1) * failed) // total


def _data(n: int) -> dict:
    return {
        "tenantId": _TENANTS[n % 5].decode(),
        "reportId": f"rpt_{n:07d}",
        "format": _FORMATS[n % 3].decode(),
        "filters": {"from": "2026-10-01", "to": "2026-10-31", "segments": ["vip", "churn-risk"]},
    }


async def _real_jobs(
    url: str, prefix: str, queue_name: str, first_id: int, count: int, failed: int
) -> None:
    """`count` jobs through bullmq, ids first_id.., `failed` of them failed (attempts 1)."""
    r = redis.Redis.from_url(url)
    r.set(f"{prefix}:{queue_name}:id", first_id - 1)
    r.close()
    opts = {"connection": url, "prefix": prefix}
    queue = Queue(queue_name, opts)
    worker = Worker(queue_name, None, {**opts, "autorun": False, "lockDuration": 600_000})
    try:
        batch = 500
        for start in range(0, count, batch):
            await queue.addBulk(
                [
                    {"name": "export-report", "data": _data(first_id + n), "opts": {"attempts": 1}}
                    for n in range(start, min(count, start + batch))
                ]
            )
        token = uuid.uuid4().hex
        for n in range(1, count + 1):
            job = await worker.getNextJob(token)
            if job is None:
                raise RuntimeError(f"bullmq handed out only {n - 1} of {count} jobs")
            if _fails(n, count, failed):
                try:
                    raise ConnectionError("ECONNRESET while uploading the result to object storage")
                except ConnectionError as err:
                    await job.moveToFailed(err, token)
            else:
                await job.moveToCompleted({"ok": True, "rows": 10 + n * 7 % 50_000}, token)
    finally:
        await worker.close(force=True)
        await queue.close()


def _arg(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


class _RawPipe:
    """Raw RESP over a socket: send a chunk, read the previous chunk's replies meanwhile."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if parsed.password:
            user = parsed.username or "default"
            self.sock.sendall(
                b"*3\r\n" + _arg(b"AUTH") + _arg(user.encode()) + _arg(parsed.password.encode())
            )
            self.owed = [1]
        else:
            self.owed = []
        self.reader = hiredis.Reader()

    def send(self, payload: bytes, replies: int) -> None:
        self.sock.sendall(payload)
        self.owed.append(replies)
        while len(self.owed) > 1:
            self._read(self.owed.pop(0))

    def finish(self) -> None:
        while self.owed:
            self._read(self.owed.pop(0))
        self.sock.close()

    def _read(self, count: int) -> None:
        got = 0
        while got < count:
            reply = self.reader.gets()
            if reply is False:
                data = self.sock.recv(1 << 20)
                if not data:
                    raise ConnectionError("Redis closed the connection during the bulk load")
                self.reader.feed(data)
                continue
            if isinstance(reply, hiredis.ReplyError):
                raise RuntimeError(f"Redis refused a bulk write: {reply}")
            got += 1


def _bulk(
    url: str,
    prefix: str,
    queue_name: str,
    total: int,
    failed: int,
    done_template: dict[bytes, bytes],
    fail_template: dict[bytes, bytes],
    newest_ts: int,
) -> None:
    """Jobs 1..total as hashes plus their zset entries; job i finished before job i+1."""
    key_head = f"{prefix}:{queue_name}:".encode()
    completed_key = key_head + b"completed"
    failed_key = key_head + b"failed"
    varying = {b"data", b"timestamp", b"processedOn", b"finishedOn", b"returnvalue"}

    def plan(template: dict[bytes, bytes]) -> tuple[list[bytes | None], list[bytes], int]:
        """The HSET with constant fields pre-encoded and None where a value changes per job."""
        pieces: list[bytes | None] = []
        order: list[bytes] = []
        for field, value in template.items():
            if field in varying:
                pieces.append(_arg(field))
                pieces.append(None)
                order.append(field)
            else:
                pieces.append(_arg(field) + _arg(value))
        return pieces, order, 2 + 2 * len(template)

    plans = {False: plan(done_template), True: plan(fail_template)}
    first_ts = newest_ts - 60_000 - total * STEP_MS
    pipe = _RawPipe(url)
    chunk: list[bytes] = []
    done_members: list[bytes] = []
    fail_members: list[bytes] = []
    commands = 0

    def flush() -> None:
        nonlocal chunk, done_members, fail_members, commands
        for key, members in ((completed_key, done_members), (failed_key, fail_members)):
            if members:
                chunk.append(b"*%d\r\n" % (2 + 2 * len(members)) + _arg(b"ZADD") + _arg(key))
                chunk.extend(members)
                commands += 1
        pipe.send(b"".join(chunk), commands)
        chunk, done_members, fail_members, commands = [], [], [], 0

    for i in range(1, total + 1):
        is_failed = _fails(i, total, failed)
        pieces, order, argc = plans[is_failed]
        timestamp = first_ts + i * STEP_MS
        processed = timestamp + 3 + i % 7
        finished = processed + 8 + (i * 37) % 25
        values = {
            b"data": b'{"tenantId":"%s","reportId":"rpt_%07d","format":"%s","filters":'
            b'{"from":"2026-10-01","to":"2026-10-31","segments":["vip","churn-risk"]}}'
            % (_TENANTS[i % 5], i, _FORMATS[i % 3]),
            b"timestamp": b"%d" % timestamp,
            b"processedOn": b"%d" % processed,
            b"finishedOn": b"%d" % finished,
            b"returnvalue": b'{"ok":true,"rows":%d}' % (10 + i * 7 % 50_000),
        }
        job_id = b"%d" % i
        chunk.append(b"*%d\r\n" % argc + _arg(b"HSET") + _arg(key_head + job_id))
        fields = iter(order)
        for piece in pieces:
            chunk.append(_arg(values[next(fields)]) if piece is None else piece)
        commands += 1
        member = _arg(b"%d" % finished) + _arg(job_id)
        (fail_members if is_failed else done_members).append(member)
        if commands >= CHUNK:
            flush()
    flush()
    pipe.finish()


def load(
    url: str, queue_name: str, completed: int, failed: int, prefix: str = "bull", real: int = 2000
) -> LoadResult:
    total = completed + failed
    real = min(real, total)
    real_failed = round(real * failed / total) if total else 0
    bulk_total = total - real

    r = redis.Redis.from_url(url)
    r.hset(
        f"{prefix}:{queue_name}:meta",
        mapping={"opts.maxLenEvents": "10000", "version": META_VERSION},
    )

    started = time.perf_counter()
    asyncio.run(_real_jobs(url, prefix, queue_name, bulk_total + 1, real, real_failed))
    seconds_real = time.perf_counter() - started

    def template(state: str) -> dict[bytes, bytes]:
        ids = r.zrange(f"{prefix}:{queue_name}:{state}", 0, 0)
        if not ids:  # no real job ended this way: borrow the other kind's shape
            return {}
        return r.hgetall(f"{prefix}:{queue_name}:{ids[0].decode()}")

    done_template, fail_template = template("completed"), template("failed")
    if not fail_template:
        fail_template = dict(done_template)
        fail_template.pop(b"returnvalue", None)
        fail_template[b"failedReason"] = b"ECONNRESET while uploading"
        fail_template[b"stacktrace"] = b"[]"
    if not done_template:
        done_template = {
            k: v for k, v in fail_template.items() if k not in (b"failedReason", b"stacktrace")
        }
        done_template[b"returnvalue"] = b"{}"
    newest_ts = int(done_template.get(b"timestamp", b"0")) or int(time.time() * 1000)

    started = time.perf_counter()
    bulk_failed = failed - real_failed
    _bulk(url, prefix, queue_name, bulk_total, bulk_failed, done_template, fail_template, newest_ts)
    seconds_bulk = time.perf_counter() - started

    completed_key = f"{prefix}:{queue_name}:completed"
    failed_key = f"{prefix}:{queue_name}:failed"
    got_completed, got_failed = r.zcard(completed_key), r.zcard(failed_key)
    if (got_completed, got_failed) != (completed, failed):
        raise RuntimeError(
            f"loaded {got_completed:,} completed and {got_failed:,} failed, "
            f"wanted {completed:,} and {failed:,}"
        )

    def at(key: str, rank: int) -> str:
        found = r.zrevrange(key, rank, rank)
        return found[0].decode() if found else ""

    result = LoadResult(
        completed=completed,
        failed=failed,
        real_jobs=real,
        seconds_real=seconds_real,
        seconds_bulk=seconds_bulk,
        newest_completed_id=at(completed_key, 0),
        oldest_completed_id=at(completed_key, completed - 1),
        middle_completed_id=at(completed_key, completed // 2),
        middle_failed_id=at(failed_key, failed // 2),
    )
    r.close()
    return result
