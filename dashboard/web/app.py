"""The Starlette application: settings in, one Redis client, routes mounted under the base path."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

import redis.asyncio as redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from dashboard import i18n
from dashboard.access import UsersFile, UsersFileError
from dashboard.bullmq.discovery import QueueCatalog, cluster_slot_error
from dashboard.bullmq.reader import Reader
from dashboard.config import ConfigError, Settings
from dashboard.drain.engine import DrainEngine
from dashboard.drain.processors import load_processors
from dashboard.live.counts import CountsCache
from dashboard.live.watcher import ChangeWatcher
from dashboard.observe import alerts as alert_rules
from dashboard.observe.prometheus import Exporter, Metrics
from dashboard.observe.unserved import ServiceCheck
from dashboard.redact import Redactor, load_formatter, parse_paths
from dashboard.redis_client.connection import (
    DEFAULT_REDIS_URL,
    Client,
    cluster_mode,
    connect,
    is_cluster,
)
from dashboard.web import registry
from dashboard.web.board import Board
from dashboard.web.errors import HANDLERS, CatchAll
from dashboard.web.middleware.audit import AuditTrail
from dashboard.web.middleware.guard import FAILED_SECRETS_PER_MINUTE, Guard, ServiceGuard
from dashboard.web.middleware.headers import CommandsHeader, SecurityHeaders
from dashboard.web.middleware.hosts import AllowedHosts
from dashboard.web.middleware.locale import RequestLocale
from dashboard.web.middleware.request_limits import RequestLimits
from dashboard.web.middleware.sessions import SessionSigner
from dashboard.web.middleware.throttle import PerMinute
from dashboard.web.oidc import OpenIdProvider
from dashboard.web.paths import EncodedSlashes, url_builder
from dashboard.web.render import make_templates
from dashboard.web.routes.drains import CRON_CALLS_PER_MINUTE
from dashboard.writes.actions import Actions

log = logging.getLogger("drainboard")


def create_app(
    settings: Settings | None = None, redis_client: redis.Redis | None = None
) -> Starlette:
    """An ASGI app serving the dashboard under `settings.base_path`.

    To embed it in another Starlette or FastAPI app, build it with `base_path=""` and mount it
    where you like: links follow the mount point. With no credentials in the settings it
    asks for none (the host app's own authentication is in front of it); CSRF checks stay on.
    Without `allowed_hosts` in the settings it answers any Host name the host app lets through.
    """
    settings = settings or Settings.from_env()
    if settings.connections and redis_client is not None:
        raise ConfigError("A Redis client can be handed over only with one unnamed connection.")
    connections: list[tuple[str | None, Settings]] = [
        (c.name, settings.for_connection(c)) for c in settings.connections
    ] or [(None, settings)]
    opened = [(name, own, *_client(own, redis_client)) for name, own in connections]
    owned = [client for _, _, client, _ in opened] if redis_client is None else []
    # Sessions and sign-in state live in the first connection's Redis: one sign-in opens every
    # connection.
    signer = SessionSigner(settings, opened[0][2])
    oidc = (
        OpenIdProvider(settings, signer.serializer("oidc-flow")) if settings.oidc_issuer else None
    )
    metrics = Metrics(labelled=bool(settings.connections))
    # One users file for every connection: a grant's patterns name queues on any of them.
    users = _users_file(settings.users)
    boards = {
        name: _board(name, own, client, cluster, signer, oidc, metrics, users)
        for name, own, client, cluster in opened
    }
    board = next(iter(boards.values()))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Discover queues now rather than on the first visitor's time; Redis may be down.
        for each in boards.values():
            try:
                await each.catalog.names()
            except (RedisError, OSError) as err:
                log.warning(
                    "queue discovery deferred: Redis%s is not reachable yet (%s)",
                    f" {each.connection!r}" if each.connection else "",
                    err,
                )
        # What start-up made (modules, templates, Babel's data, the catalogs) lives as long as
        # the process: frozen out of the cyclic collector, a full collection walks only what
        # requests made, ~0.1 ms instead of the 30-50 ms that were the pages' worst times.
        gc.collect()
        gc.freeze()
        # With rules, the watcher runs with no page open: their checks read its memory.
        watching = [
            asyncio.create_task(each.alerts.watch(each.watcher))
            for each in boards.values()
            if each.alerts.active
        ]
        yield
        for task in watching:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for each in boards.values():
            await each.exporter.counts.close()
        for client in owned:
            await client.aclose()

    base_routes = registry.base_routes()
    # Each named connection's pages under /c/<name>/: the same routes, and links that stay on
    # the connection (Starlette's Mount adds /c/<name> to the root path they are built from).
    by_connection = [Mount("/c/{connection}", routes=base_routes)] if settings.connections else []
    routes: list[BaseRoute] = [
        *registry.outside_base_routes(),
        Mount(
            settings.base_path,
            routes=[*by_connection, *base_routes],
            middleware=[
                Middleware(
                    Guard,
                    settings=settings,
                    signer=board.signer,
                    needs=registry.WRITE_ROLES,
                    routes=[*by_connection, *base_routes],
                    catalogs={name: each.catalog for name, each in boards.items()},
                    users=users,
                )
            ],
        ),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers=HANDLERS,
        middleware=[
            Middleware(RequestLocale, default=settings.locale),
            Middleware(CommandsHeader),
            Middleware(SecurityHeaders),
            Middleware(CatchAll),
            Middleware(AllowedHosts, settings=settings),
            Middleware(RequestLimits),
            Middleware(ServiceGuard, settings=settings),
            Middleware(EncodedSlashes),
            # Innermost, so that it sees which route answered (the scope the router filled in).
            Middleware(AuditTrail, settings=settings, actions=_route_names(routes)),
        ],
        lifespan=lifespan,
    )
    # The first connection's board answers what names no connection; `boards` has them all.
    app.state.board = board
    app.state.boards = boards
    app.state.metrics = metrics
    app.state.roles_by_operation = registry.roles_by_operation()
    app.state.cron_limiter = PerMinute(CRON_CALLS_PER_MINUTE)
    app.state.documented_modules = registry.documented_modules()
    app.state.failed_secrets = PerMinute(FAILED_SECRETS_PER_MINUTE)
    i18n.set_server_default(settings.locale)
    app.state.templates = make_templates()
    app.state.templates.env.globals["url"] = url_builder(base_routes)
    return app


def _client(settings: Settings, given: Client | None) -> tuple[Client, bool]:
    """The connection's Redis client (a given one is used as it is) and whether it is a cluster."""
    if given is not None:
        return given, is_cluster(given)
    url = settings.redis_url or DEFAULT_REDIS_URL
    cluster = cluster_mode(url, settings.cluster)
    if cluster and (slot_error := cluster_slot_error(settings.prefix, settings.queues)):
        raise ConfigError(slot_error)
    return connect(url, cluster=cluster, max_connections=settings.redis_max_connections), cluster


def _board(
    name: str | None,
    settings: Settings,
    client: Client,
    cluster: bool,
    signer: SessionSigner,
    oidc: OpenIdProvider | None,
    metrics: Metrics,
    users: UsersFile | None,
) -> Board:
    """Everything one Redis connection needs: its reader, catalog, actions, drain engine,
    change watcher, exporter and alert rules."""
    url = settings.redis_url or DEFAULT_REDIS_URL
    redactor = Redactor(parse_paths(settings.redact), load_formatter(settings.formatter))
    reader = Reader(client, settings.prefix, redactor)
    catalog = QueueCatalog(client, settings.prefix, settings.queues, cluster, settings.hide)
    engine = DrainEngine(client, settings.prefix, load_processors(settings.processors))
    watcher_name = f"drainboard:watcher:{name}" if name else "drainboard:watcher"
    watcher = ChangeWatcher(
        lambda timeout: connect(url, timeout, cluster, blocking=True, name=watcher_name),
        catalog,
        settings.prefix,
        reader=reader,
    )
    service_check = ServiceCheck(client, settings.prefix, engine)
    return Board(
        connection=name,
        settings=settings,
        redis=client,
        reader=reader,
        catalog=catalog,
        actions=Actions(client, settings.prefix, reader),
        signer=signer,
        engine=engine,
        watcher=watcher,
        exporter=Exporter(CountsCache(client, reader, catalog, watcher), engine, metrics, name),
        service_check=service_check,
        alerts=alert_rules.Alerts(
            client,
            settings.prefix,
            alert_rules.load(settings.alerts) if settings.alerts else alert_rules.AlertConfig(),
            service=service_check,
            quota=settings.quota,
            connection=name,
        ),
        oidc=oidc,
        users=users,
    )


def _users_file(path: str | None) -> UsersFile | None:
    try:
        return UsersFile(path) if path else None
    except UsersFileError as err:
        raise ConfigError(str(err)) from None


def _route_names(routes: list[BaseRoute]) -> dict[object, str]:
    """Each route's endpoint and its name, mounted routes included: what the audit trail calls
    the action a request reached."""
    names: dict[object, str] = {}
    for route in routes:
        if isinstance(route, Mount):
            names.update(_route_names(list(route.routes)))
        elif isinstance(route, Route):
            names[route.endpoint] = route.name
    return names
