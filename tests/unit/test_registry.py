"""The route registry: every route module is mounted and named, and the OpenAPI document covers
every module that describes JSON routes."""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter

from dashboard.web import registry, routes


def route_modules() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(routes.__path__, "dashboard.web.routes.")}


def test_every_route_module_is_in_the_registry() -> None:
    mounted = {module.__name__ for module in registry.UNDER_BASE}
    outside = {"dashboard.web.routes.service"}  # only routes outside the base path
    assert route_modules() - mounted == outside


def test_every_route_has_a_unique_name() -> None:
    every = [*registry.base_routes(), *registry.outside_base_routes()]
    names = Counter(getattr(route, "name", None) for route in every)
    assert None not in names
    assert [name for name, count in names.items() if count > 1] == []


def test_every_module_with_json_routes_is_documented() -> None:
    describing = {
        name for name in route_modules() if hasattr(importlib.import_module(name), "openapi")
    }
    assert {module.__name__ for module in registry.documented_modules()} == describing
