"""Redaction: fields named by `--redact` and a `--formatter module:attr` hook, applied to a job on
the server before any page, API answer, raw view or download shows it.

`--redact data.password,data.card.number,returnvalue.token` names dotted paths into a job's data
or return value; each value found there is replaced by REDACTED. Through a list, a path applies
to every item (`data.users.password` covers each user). The formatter then receives the job as
the API answers it (data, returnvalue, logs, failedReason, stacktrace, ...) and returns the job
to show; it runs after the paths, so it sees no redacted value either.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[redacted]"
ROOTS = ("data", "returnvalue")

Formatter = Callable[[dict[str, Any]], dict[str, Any]]


class RedactionError(ValueError):
    """A --redact path or --formatter cannot be used; one sentence for the person starting it."""


def parse_paths(spec: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    paths = []
    for item in (i.strip() for i in spec):
        if not item:
            continue
        parts = tuple(item.split("."))
        if parts[0] not in ROOTS or len(parts) < 2 or not all(parts):
            raise RedactionError(
                f"--redact paths start with data. or returnvalue. and name a field, not {item!r}."
            )
        paths.append(parts)
    return tuple(paths)


def load_formatter(spec: str | None) -> Formatter | None:
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise RedactionError(f"--formatter must be module:attr, not {spec!r}.")
    try:
        hook = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise RedactionError(f"--formatter {spec!r} cannot be loaded: {err}.") from None
    if not callable(hook):
        raise RedactionError(f"--formatter {spec!r} is not a function.")
    return hook


def _blank(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, list):
        return [_blank(item, path) for item in value]
    if not isinstance(value, dict) or path[0] not in value:
        return value
    if len(path) == 1:
        return {**value, path[0]: REDACTED}
    return {**value, path[0]: _blank(value[path[0]], path[1:])}


@dataclass(frozen=True)
class Redactor:
    paths: tuple[tuple[str, ...], ...] = ()
    formatter: Formatter | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return bool(self.paths or self.formatter)

    def fields(self, value: dict[str, Any]) -> dict[str, Any]:
        """The paths alone, on anything shaped like a job (a scheduler's template): the
        formatter is for whole jobs."""
        shown = dict(value)
        for path in self.paths:
            if path[0] in shown:
                shown[path[0]] = _blank(shown[path[0]], path[1:])
        return shown

    def job(self, job: dict[str, Any]) -> dict[str, Any]:
        """The job as it may be shown. The input is left as it was."""
        if not self.active:
            return job
        shown = self.fields(job)
        if self.formatter is not None:
            shown = self.formatter(copy.deepcopy(shown))
        return shown
