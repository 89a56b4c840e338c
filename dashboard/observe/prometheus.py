"""Prometheus metrics, built with prometheus_client in the app's own registry.

Queue counts come from the in-memory CountsCache (no Redis command for an idle scrape); drain
runs are counted as this process runs them; the commands the dashboard spent come from its own
tally (spending.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dashboard.drain.engine import DrainEngine, DrainResult
from dashboard.live.counts import CountsCache, QueueFigures
from dashboard.redis_client.counting import SPENT

# Drains take from milliseconds (nothing to do) up to maxDurationMs (at most 600 s).
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600)


class QueueCollector(Collector):
    """The figures of the current scrape, as Prometheus families."""

    def __init__(self) -> None:
        self.figures: list[QueueFigures] = []

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "bullmq_jobs",
            "Jobs per queue and state, as Node BullMQ's getJobCounts() counts them.",
            labels=["queue", "state"],
        )
        paused = GaugeMetricFamily(
            "bullmq_queue_paused", "1 when the queue is paused.", labels=["queue"]
        )
        recorded = CounterMetricFamily(
            "bullmq_recorded_jobs",
            "Jobs finished, as counted by BullMQ's own metrics (workers started with "
            "metrics: {maxDataPoints}); absent for queues where nothing records them.",
            labels=["queue", "state"],
        )
        for figures in self.figures:
            name = figures.summary.name
            for state, count in figures.summary.counts.items():
                jobs.add_metric([name, state], count)
            paused.add_metric([name], int(figures.summary.is_paused))
            for state, total in figures.recorded.items():
                if total is not None:
                    recorded.add_metric([name, state], total)
        spent = CounterMetricFamily(
            "drainboard_redis_commands",
            "Redis commands this dashboard process has sent for its pages, API, scrapes "
            "(reads), its change watcher (watcher), alert state changes and sends (alerts) and "
            "new connections' handshakes (connections).",
            labels=["source"],
        )
        for source, commands in sorted(SPENT.items()):
            spent.add_metric([source], commands)
        yield from (jobs, paused, recorded, spent)


class Exporter:
    def __init__(self, counts: CountsCache, engine: DrainEngine) -> None:
        self.counts = counts
        self.registry = CollectorRegistry(auto_describe=True)
        self.queues = QueueCollector()
        self.registry.register(self.queues)
        self.drain_runs = Counter(
            "drainboard_drain_runs",
            "Drains this process ran, by what started them.",
            ["trigger"],
            registry=self.registry,
        )
        self.drain_processed = Counter(
            "drainboard_drain_jobs_processed",
            "Jobs this process's drains ran to an end, success or failure.",
            ["queue"],
            registry=self.registry,
        )
        self.drain_failed = Counter(
            "drainboard_drain_jobs_failed",
            "Jobs that failed in this process's drains.",
            ["queue"],
            registry=self.registry,
        )
        self.drain_duration = Histogram(
            "drainboard_drain_duration_seconds",
            "How long this process's drains took.",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        engine.observers.append(self.observe_drain)

    def observe_drain(self, result: DrainResult) -> None:
        self.drain_runs.labels(result.trigger).inc()
        self.drain_duration.observe(result.duration_ms / 1000)
        self.counts.mark_stale({q for q, run in result.queues.items() if run.jobs_processed})
        for queue, run in result.queues.items():
            if run.jobs_processed:
                self.drain_processed.labels(queue).inc(run.jobs_processed)
            if run.jobs_failed:
                self.drain_failed.labels(queue).inc(run.jobs_failed)

    async def scrape(self) -> bytes:
        figures = await self.counts.figures()
        # No await between setting the figures and rendering them: scrapes cannot interleave.
        self.queues.figures = figures
        return generate_latest(self.registry)
