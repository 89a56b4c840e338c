"""The OpenAPI document of the JSON API, built from the route modules of the registry."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from dashboard.access import Role
from dashboard.web.openapi.parts import ERROR, QUEUE, json_body


def document(
    root_path: str,
    base_path: str,
    modules: tuple[ModuleType, ...],
    queues: list[str],
    roles: Mapping[tuple[str, str], Role] | None = None,
) -> dict[str, Any]:
    """`root_path` is where the dashboard's routes are (host mount + base path); `queues` become
    the examples of every `{queue}` parameter, so a fuzzer reaches real queues too; `roles`,
    the role each write operation needs, is said in its description and its 403."""
    outer = root_path[: len(root_path) - len(base_path)] if base_path else root_path
    paths: dict[str, Any] = {}
    for module in modules:
        for prefix, described in (
            (root_path, module.openapi),
            (outer, getattr(module, "openapi_outside_base", {})),
        ):
            for path, item in described.items():
                item = _with_roles(path, item, roles or {}) if prefix == root_path else item
                paths.setdefault(prefix + path, {}).update(_with_examples(item, queues))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Drainboard JSON API",
            "version": "1",
            "description": "BullMQ queues and jobs. Errors are always "
            '`{"error": "<one sentence>", "status": n}`.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "cron": {"type": "apiKey", "in": "header", "name": "X-Cron-Secret"},
            },
        },
        "security": [{"token": []}],
    }


def _with_roles(
    path: str, item: dict[str, Any], roles: Mapping[tuple[str, str], Role]
) -> dict[str, Any]:
    described = {}
    for method, operation in item.items():
        role = roles.get((path, method))
        if role is not None:
            where = "the queue" if "{queue}" in path else "every queue the caller sees"
            needs = f"Needs the {role.label} role on {where}."
            operation = {
                **operation,
                "description": f"{operation.get('description', '')}\n\n{needs}".strip(),
                "x-role": role.label,
                "responses": {
                    **operation.get("responses", {}),
                    "403": json_body(
                        {"$ref": "#/components/schemas/Error"},
                        f"{needs} Below it (or in read-only mode) the answer is 403 with one"
                        " sentence naming the role needed; also CSRF and cross-site refusals.",
                    ),
                },
            }
        described[method] = operation
    return described


def _with_examples(item: dict[str, Any], queues: list[str]) -> dict[str, Any]:
    if not queues:
        return item
    examples = {f"queue{n}": {"value": name} for n, name in enumerate(queues[:20])}
    return {
        method: {
            **operation,
            "parameters": [
                {**p, "examples": examples} if p is QUEUE else p
                for p in operation.get("parameters", [])
            ],
        }
        for method, operation in item.items()
    }
