"""The queue switcher's content: the queue names the catalog already holds, grouped by the
`--group-delimiter`. It costs no Redis command: nothing here reads Redis.

Every page carries it, so with 1,000 queues it is most of a page's HTML: its list is rendered
once per set of names (and base path) and reused, with only the current queue marked per page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment
from markupsafe import Markup
from starlette.requests import Request

from dashboard.web.board import Board
from dashboard.web.lookup import boards_of
from dashboard.web.paths import dashboard_root, path_value, root_of, segment


@dataclass(frozen=True)
class Switcher:
    count: int
    # The groups' HTML, with the current queue's link marked `aria-current`.
    items: Markup


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


@lru_cache(maxsize=32)
def _items(
    env: Environment, names: tuple[str, ...], delimiter: str, base: str, connection: str = ""
) -> str:
    template = env.get_template("partials/switcher_items.html")
    return template.render(
        groups=grouped(list(names), delimiter), delimiter=delimiter, base=base,
        connection=connection,
    )  # fmt: skip


def switcher_for(request: Request, board: Board) -> Switcher | None:
    boards = boards_of(request)
    if len(boards) > 1:
        return _by_connection(request, boards)
    names = board.catalog.cached()
    if not names:
        return None
    base = root_of(request.scope)
    delimiter = board.settings.group_delimiter or ""
    env = request.app.state.templates.env
    items = _items(env, tuple(names), delimiter, base)
    return Switcher(len(names), _marked(items, request))


def _by_connection(request: Request, boards: dict[str | None, Board]) -> Switcher | None:
    """Several connections: each one's queues under its name, linking into its `/c/<name>/`."""
    root = dashboard_root(request.scope)
    env = request.app.state.templates.env
    parts, count = [], 0
    for name, each in boards.items():
        names = each.catalog.cached()
        count += len(names)
        delimiter = each.settings.group_delimiter or ""
        base = f"{root}/c/{segment(name)}"
        parts.append(_items(env, tuple(names), delimiter, base, str(name)))
    if not count:
        return None
    return Switcher(count, _marked("".join(parts), request))


def _marked(items: str, request: Request) -> Markup:
    """The switcher's links with the page's own queue marked `aria-current` (its link is the one
    under this page's root: with several connections, only its own connection's)."""
    current = request.path_params.get("queue")
    if current:
        link = f'href="{root_of(request.scope)}/queue/{segment(path_value(current))}"'
        items = items.replace(f"{link}>", f'{link} aria-current="page">', 1)
    return Markup(items)  # escaped when the template rendered it
