"""The queue switcher's content: the queue names the catalog already holds, grouped by the
`--group-delimiter`. It costs no Redis command: nothing here reads Redis."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from dashboard.web.board import Board
from dashboard.web.paths import path_value


@dataclass(frozen=True)
class Switcher:
    groups: list[tuple[str, list[str]]]
    count: int
    current: str | None
    delimiter: str


def grouped(names: list[str], delimiter: str) -> list[tuple[str, list[str]]]:
    """Queues under the text before the first delimiter, as Bull Board's `delimiter` does;
    names without it come first, ungrouped."""
    if not delimiter:
        return [("", sorted(names))] if names else []
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        head, found, _ = name.partition(delimiter)
        groups.setdefault(head if found else "", []).append(name)
    return sorted(groups.items(), key=lambda item: (item[0] != "", item[0]))


def switcher_for(request: Request, board: Board) -> Switcher | None:
    names = board.catalog.cached()
    if not names:
        return None
    current = request.path_params.get("queue")
    delimiter = board.settings.group_delimiter or ""
    return Switcher(
        grouped(names, delimiter), len(names), path_value(current) if current else None, delimiter
    )
