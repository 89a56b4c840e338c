"""The route table: every route module, in the order the app mounts them. The app mounts this
table and builds the OpenAPI document from the same modules, so a route module added here is
served, documented (when it has an `openapi` dict) and fuzzed by CI. A new view gets a route
module of its own, listed here.
"""

from __future__ import annotations

from types import ModuleType

from starlette.routing import BaseRoute, Route

from dashboard.access import Role
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


# The role each route that changes something needs (web/middleware/guard.py enforces it, for
# pages, htmx and the JSON API alike). A write route missing here needs admin; a test checks
# that every write route is listed. The cron endpoint is outside the base path: it keeps its own
# cron tokens (CRON_SECRET, …), which can drain and do nothing else, whatever the roles.
# A route that names no queue (pause all, a drain of all, a rescan) needs the role on every
# queue the caller sees. None: open to anyone.
VIEWER, OPERATOR, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN
WRITE_ROLES: dict[str, Role | None] = {
    # Signing in and out: anyone.
    "login": None,
    "logout": None,
    # This browser's language (a cookie; nothing in Redis): anyone signed in.
    "set_language": VIEWER,
    # operator: retry, promote, remove, clean, pause and resume, Drain now, selected actions.
    "retry_job": OPERATOR,
    "promote_job": OPERATOR,
    "remove_job": OPERATOR,
    "remove_job_from_its_page": OPERATOR,
    "act_on_selected": OPERATOR,
    "retry_all": OPERATOR,
    "promote_all": OPERATOR,
    "clean": OPERATOR,
    "pause": OPERATOR,
    "resume": OPERATOR,
    "pause_all": OPERATOR,
    "resume_all": OPERATOR,
    "drain_now": OPERATOR,  # on its ?queue=, else on every queue the caller sees
    "rescan": OPERATOR,
    # admin: add, edit, empty, obliterate, limits, schedulers, and every other change.
    "add_job": ADMIN,
    "update_data": ADMIN,
    "duplicate_job": ADMIN,
    "change_priority": ADMIN,
    "change_delay": ADMIN,
    "empty": ADMIN,
    "obliterate": ADMIN,
    "set_concurrency": ADMIN,
    "set_rate_limit": ADMIN,
    "run_scheduler": ADMIN,
    "remove_scheduler": ADMIN,
    "alerts_test": ADMIN,
}


def outside_base_routes() -> list[BaseRoute]:
    """Routes for the platform, outside the base path: liveness, Prometheus, the cron drain."""
    return [*service.routes, *drains.cron_routes]


def base_routes() -> list[BaseRoute]:
    return [route for module in UNDER_BASE for route in module.routes]


def roles_by_operation() -> dict[tuple[str, str], Role]:
    """(path, lower-case method) of each write route under the base path -> the role it needs,
    for the OpenAPI document to say."""
    needs = {}
    for route in base_routes():
        if isinstance(route, Route) and (role := WRITE_ROLES.get(route.name)) is not None:
            needs.update({(route.path, method.lower()): role for method in route.methods or ()})
    return needs


def documented_modules() -> tuple[ModuleType, ...]:
    """The modules that describe JSON routes, in the document's order."""
    return tuple(module for module in UNDER_BASE if hasattr(module, "openapi"))
