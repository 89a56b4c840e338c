"""Demo data: five queues of batch work (the cron drain endpoint's usual tenants), with jobs in
every state.

Everything is written through the `bullmq` package (adds, a manual worker, a flow, a pause), so
the keys are exactly what real BullMQ code leaves behind.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from typing import Any

from bullmq import FlowProducer, Queue, Worker

from dashboard.config import Settings

DEMO_QUEUES = ("batch-jobs", "dsar-jobs", "journey-jobs", "retrain-jobs", "seed-jobs")
PAUSED_QUEUE = "retrain-jobs"
# The job whose data tries to run a script; the browser test checks it is shown as text.
HOSTILE_JOB_ID = "hostile-html"
BIG_JOB_ID = "big-payload"
# Minutes of BullMQ metrics the demo's drains keep: a day of throughput charts.
DEMO_METRICS_MINUTES = 1440

_TENANTS = ("acme", "globex", "initech", "umbrella", "hooli")


def _payload(queue: str, n: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    tenant = rng.choice(_TENANTS)
    if queue == "batch-jobs":
        return "export-report", {
            "tenantId": tenant,
            "reportId": f"rpt_{n:05d}",
            "format": rng.choice(["csv", "parquet", "xlsx"]),
            "filters": {
                "from": "2026-10-01",
                "to": "2026-10-31",
                "segments": ["vip", "churn-risk"],
            },
        }
    if queue == "dsar-jobs":
        return rng.choice(["dsar-export", "dsar-erase"]), {
            "tenantId": tenant,
            "requestId": f"dsar_{n:05d}",
            "subject": {"email": f"person{n}@example.com", "verified": True},
        }
    if queue == "journey-jobs":
        return "journey-step", {
            "journeyId": f"jrn_{rng.randint(1, 40)}",
            "customerId": f"cus_{rng.randint(1000, 9999)}",
            "step": rng.choice(["send-email", "wait", "branch", "webhook"]),
        }
    if queue == "retrain-jobs":
        return "retrain-model", {
            "modelId": f"ranker-v{rng.randint(3, 9)}",
            "datasetVersion": f"2026.11.{rng.randint(1, 21)}",
            "hyperparams": {"lr": 0.001, "epochs": rng.choice([5, 10, 20]), "batch": 256},
        }
    return "seed-tenant", {"tenantId": tenant, "fixtures": ["offers", "segments", "journeys"]}


class DemoFailure(RuntimeError):
    pass


async def _demo_handler(job: Any) -> dict[str, Any]:
    """What the demo's "Drain now" runs: a little work, a log line, now and then a failure."""
    await job.log(f"demo processor picked up {job.name}")
    await asyncio.sleep(0.02)
    if job.data.get("fail") or random.random() < 0.1:
        _fail(job.queue.name, job.data)
    await job.updateProgress(100)
    return {"ok": True, "handledBy": "drainboard demo"}


# `--processors dashboard.demo:PROCESSORS`, registered by `drainboard demo` itself.
PROCESSORS = {queue: _demo_handler for queue in DEMO_QUEUES}


def _fail(queue: str, data: dict[str, Any]) -> None:
    """Raise a realistic error so the stack trace stored with the job is a real one."""
    if queue == "dsar-jobs":
        email = data.get("subject", {}).get("email", "the subject")
        raise DemoFailure(f"Subject {email} not found in the identity store")
    if queue == "journey-jobs":
        raise TimeoutError("Webhook https://hooks.example.com/journey timed out after 30000 ms")
    raise ConnectionError("ECONNRESET while uploading the result to object storage")


async def fill(
    redis_url: str, prefix: str = "bull", jobs_per_queue: int = 24, seed: int = 7
) -> None:
    """Write demo jobs into the five queues. Safe to call on an empty database only."""
    rng = random.Random(seed)
    opts = {"connection": redis_url, "prefix": prefix}
    for queue_name in DEMO_QUEUES:
        queue = Queue(queue_name, opts)
        worker = Worker(queue_name, None, {**opts, "autorun": False, "lockDuration": 3_600_000})
        try:
            await _fill_queue(queue, worker, queue_name, jobs_per_queue, rng)
        finally:
            await worker.close(force=True)
            await queue.close()
    await _add_flow(redis_url, prefix)
    await _add_schedulers(redis_url, prefix)
    paused = Queue(PAUSED_QUEUE, opts)
    await paused.pause()
    await paused.close()


async def _fill_queue(
    queue: Queue, worker: Worker, name: str, count: int, rng: random.Random
) -> None:
    token = uuid.uuid4().hex
    # Jobs that will be processed now: completed, failed, and two left active.
    for n in range(count):
        job_name, data = _payload(name, n, rng)
        await queue.add(job_name, data, {"attempts": rng.choice([1, 1, 3])})
    for n in range(count):
        job = await worker.getNextJob(token)
        if job is None:
            break
        await job.log(f"Picked up by demo worker; payload for {job.name}")
        if n >= count - 2:
            await job.updateProgress(rng.randint(10, 90))
            await job.log("Still running…")
            continue
        if rng.random() < 0.3:
            try:
                _fail(name, job.data)
            except Exception as err:
                await job.log(f"Failed: {err}")
                await job.moveToFailed(err, token)
        else:
            await job.updateProgress(100)
            await job.log("Done")
            await job.moveToCompleted({"ok": True, "rows": rng.randint(10, 50_000)}, token)

    # Jobs that stay queued: waiting, prioritized and delayed.
    for n in range(count, count + count // 2):
        job_name, data = _payload(name, n, rng)
        await queue.add(job_name, data)
    for n in range(count // 4):
        job_name, data = _payload(name, 1000 + n, rng)
        await queue.add(job_name, data, {"priority": rng.randint(1, 10)})
    for n in range(count // 4):
        job_name, data = _payload(name, 2000 + n, rng)
        await queue.add(job_name, data, {"delay": rng.randint(60, 6 * 3600) * 1000})

    if name == "batch-jobs":
        await queue.add(
            "render-preview",
            {
                "title": "<script>window.__pwned = true</script>",
                "html": "<img src=x onerror=alert(1)>",
            },
            {"jobId": HOSTILE_JOB_ID},
        )
        big = {"rows": [{"i": i, "text": "x" * 90} for i in range(60_000)]}
        await queue.add("bulk-import", big, {"jobId": BIG_JOB_ID})


# Repeatable jobs, as job schedulers: a nightly analytics rollup and a monthly
# credit grant.
DEMO_SCHEDULERS = (
    ("nightly-analytics-rollup", {"pattern": "0 2 * * *", "tz": "UTC"}, "analytics-rollup"),
    ("monthly-credit-grant", {"pattern": "5 0 1 * *", "tz": "UTC"}, "grant-credits"),
)
SCHEDULER_QUEUE = "batch-jobs"


async def _add_schedulers(redis_url: str, prefix: str) -> None:
    queue = Queue(SCHEDULER_QUEUE, {"connection": redis_url, "prefix": prefix})
    for scheduler_id, repeat, name in DEMO_SCHEDULERS:
        await queue.upsertJobScheduler(
            scheduler_id, repeat, name, {"tenants": "all"}, {"attempts": 3}
        )
    await queue.close()


async def _add_flow(redis_url: str, prefix: str) -> None:
    flow = FlowProducer({"connection": redis_url, "prefix": prefix})
    await flow.add(
        {
            "name": "assemble-dsar-bundle",
            "queueName": "dsar-jobs",
            "data": {"requestId": "dsar_bundle_1", "parts": 3},
            "children": [
                {"name": "collect-part", "queueName": "batch-jobs", "data": {"part": i}}
                for i in range(3)
            ],
        }
    )
    await flow.close()


def demo_settings(settings: Settings) -> Settings:
    """What `drainboard demo` serves with: the demo's processors, so Drain now has something to
    run, and BullMQ metrics recorded by its drains (one day), so the Metrics tab draws charts."""
    return replace(
        settings,
        demo=True,
        processors=settings.processors or "dashboard.demo:PROCESSORS",
        metrics_max_data_points=settings.metrics_max_data_points or DEMO_METRICS_MINUTES,
    )
