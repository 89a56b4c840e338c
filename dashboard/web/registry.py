"""The route table: every route module, in the order the app mounts them. The app mounts this
table and builds the OpenAPI document from the same modules, so a route module added here is
served, documented (when it has an `openapi` dict) and fuzzed by CI. A new view gets a route
module of its own, listed here.
"""

from __future__ import annotations

from types import ModuleType

from starlette.routing import BaseRoute

from dashboard.web.routes import (
    actions,
    alerts,
    api,
    audit_view,
    connections_view,
    cost_panel,
    drains,
    flows,
    job_peek,
    live,
    manage,
    manage_pages,
    oidc_sign_in,
    openapi,
    pages,
    preferences,
    quota_view,
    redis_panel,
    schedulers,
    search,
    service,
    throughput,
    workers_view,
)

# Under the base path, in matching order: the pages come last, since their `/queue/{queue}`
# patterns are the broadest.
UNDER_BASE: tuple[ModuleType, ...] = (
    api,
    openapi,
    actions,
    drains,
    live,
    cost_panel,
    quota_view,
    schedulers,
    flows,
    job_peek,
    search,
    manage,
    manage_pages,
    preferences,
    throughput,
    redis_panel,
    workers_view,
    alerts,
    audit_view,
    oidc_sign_in,
    connections_view,
    pages,
)


def outside_base_routes() -> list[BaseRoute]:
    """Routes for the platform, outside the base path: liveness, Prometheus, the cron drain."""
    return [*service.routes, *drains.cron_routes]


def base_routes() -> list[BaseRoute]:
    return [route for module in UNDER_BASE for route in module.routes]


def documented_modules() -> tuple[ModuleType, ...]:
    """The modules that describe JSON routes, in the document's order."""
    return tuple(module for module in UNDER_BASE if hasattr(module, "openapi"))
