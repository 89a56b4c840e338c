"""Where job handlers come from: `--processors package.module:NAME` names a dict that maps
queue names to `async def handler(job) -> result`."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from dashboard.config import ConfigError

Processor = Callable[[Any], Awaitable[Any]]


def load_processors(spec: str | None) -> dict[str, Processor]:
    if not spec:
        return {}
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(
            f"--processors takes module:attribute, such as myapp.jobs:PROCESSORS; got {spec!r}."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"Cannot import {module_name!r} for --processors: {err}.") from None
    registry = getattr(module, attr, None)
    if not isinstance(registry, dict):
        raise ConfigError(f"{spec} must be a dict of queue name to async handler.")
    for queue, handler in registry.items():
        if not inspect.iscoroutinefunction(handler):
            raise ConfigError(f"The processor for {queue!r} in {spec} must be an async function.")
    return dict(registry)
