"""Prometheus metrics, built with prometheus_client in the app's own registry.

Queue counts come from the in-memory CountsCache (no Redis command for an idle scrape); drain
runs are counted as this process runs them; the commands the dashboard spent come from its own
tally (spending.py). With several Redis connections, one registry serves them all and every
queue and drain series carries a `connection` label; with one unnamed Redis the series are as
they always were, without it.
"""

from __future__ import annotations

import asyncio
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
    """The figures of the current scrape, per connection, as Prometheus families."""

    def __init__(self, labelled: bool) -> None:
        self.labelled = labelled
        self.figures: list[tuple[str | None, list[QueueFigures]]] = []

    def collect(self) -> Iterator[Metric]:
        extra = ["connection"] if self.labelled else []
        jobs = GaugeMetricFamily(
            "bullmq_jobs",
            "Jobs per queue and state, as Node BullMQ's getJobCounts() counts them.",
            labels=[*extra, "queue", "state"],
        )
        paused = GaugeMetricFamily(
            "bullmq_queue_paused", "1 when the queue is paused.", labels=[*extra, "queue"]
        )
        recorded = CounterMetricFamily(
            "bullmq_recorded_jobs",
            "Jobs finished, as counted by BullMQ's own metrics (workers started with "
            "metrics: {maxDataPoints}); absent for queues where nothing records them.",
            labels=[*extra, "queue", "state"],
        )
        for connection, each in self.figures:
            where = [str(connection)] if self.labelled else []
            for figures in each:
                name = figures.summary.name
                for state, count in figures.summary.counts.items():
                    jobs.add_metric([*where, name, state], count)
                paused.add_metric([*where, name], int(figures.summary.is_paused))
                for state, total in figures.recorded.items():
                    if total is not None:
                        recorded.add_metric([*where, name, state], total)
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


class Metrics:
    """The process's one registry: every connection's queues and drains."""

    def __init__(self, labelled: bool) -> None:
        self.labelled = labelled
        extra = ["connection"] if labelled else []
        self.registry = CollectorRegistry(auto_describe=True)
        self.queues = QueueCollector(labelled)
        self.registry.register(self.queues)
        self.drain_runs = Counter(
            "drainboard_drain_runs",
            "Drains this process ran, by what started them.",
            [*extra, "trigger"],
            registry=self.registry,
        )
        self.drain_processed = Counter(
            "drainboard_drain_jobs_processed",
            "Jobs this process's drains ran to an end, success or failure.",
            [*extra, "queue"],
            registry=self.registry,
        )
        self.drain_failed = Counter(
            "drainboard_drain_jobs_failed",
            "Jobs that failed in this process's drains.",
            [*extra, "queue"],
            registry=self.registry,
        )
        self.drain_duration = Histogram(
            "drainboard_drain_duration_seconds",
            "How long this process's drains took.",
            extra,
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )

    async def scrape(self, exporters: list[Exporter]) -> bytes:
        """Every connection's figures, read at once; one that cannot be read fails the scrape
        (Prometheus records it as down) rather than dropping its series silently."""
        figures = await asyncio.gather(*(each.counts.figures() for each in exporters))
        # No await between setting the figures and rendering them: scrapes cannot interleave.
        self.queues.figures = [
            (each.connection, found) for each, found in zip(exporters, figures, strict=True)
        ]
        return generate_latest(self.registry)


class Exporter:
    """One connection's part of the metrics: its kept counts, and its drains observed."""

    def __init__(
        self, counts: CountsCache, engine: DrainEngine, metrics: Metrics, connection: str | None
    ) -> None:
        self.counts = counts
        self.metrics = metrics
        self.connection = connection
        engine.observers.append(self.observe_drain)

    def observe_drain(self, result: DrainResult) -> None:
        metrics = self.metrics
        where = [str(self.connection)] if metrics.labelled else []
        metrics.drain_runs.labels(*where, result.trigger).inc()
        if where:
            metrics.drain_duration.labels(*where).observe(result.duration_ms / 1000)
        else:
            metrics.drain_duration.observe(result.duration_ms / 1000)
        self.counts.mark_stale({q for q, run in result.queues.items() if run.jobs_processed})
        for queue, run in result.queues.items():
            if run.jobs_processed:
                metrics.drain_processed.labels(*where, queue).inc(run.jobs_processed)
            if run.jobs_failed:
                metrics.drain_failed.labels(*where, queue).inc(run.jobs_failed)
