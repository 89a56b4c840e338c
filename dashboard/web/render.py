"""Jinja2 set-up, the formatting helpers templates use, and `render()`, which every page goes
through. Templates only format what they get."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Container, Mapping
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.dates import TIMEDELTA_UNITS, format_datetime, format_timedelta
from babel.numbers import format_decimal, get_decimal_symbol
from cron_descriptor import ExpressionDescriptor, Options, get_description
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from dashboard import i18n
from dashboard.access import Role, admin
from dashboard.bullmq.jobs import preview_json
from dashboard.bullmq.reader import QueueSummary
from dashboard.i18n import N_, gettext, ngettext
from dashboard.observe.cost import MINUTES_PER_MONTH
from dashboard.redis_client.counting import commands_spent
from dashboard.web.board import Board
from dashboard.web.lookup import board_of
from dashboard.web.paths import dashboard_root, path_value, root_of, segment
from dashboard.web.switcher import switcher_for


def _package_dir(package: str) -> Path:
    """Where an installed data package lives: inside the wheel's `dashboard/`, or, in an editable
    install, wherever setuptools' mapping points (the top-level `templates/` and `static/`)."""
    return Path(str(files(package)))


TEMPLATES_DIR = _package_dir("dashboard.templates")
STATIC_DIR = _package_dir("dashboard.static")

# Past this many characters a value is cut on the page, with a link to the whole of it.
VALUE_LIMIT = 64 * 1024
# A JSON tree deeper or wider than this is shown as text: nobody unfolds 10,000 nodes by hand.
TREE_NODE_LIMIT = 2000


class Labels(dict[str, str]):
    """Labels a template looks up by key (`STATE_LABELS[state]`), in the reader's language."""

    def __getitem__(self, key: str) -> str:
        return _label(i18n.current(), super().__getitem__(key))


@functools.lru_cache(maxsize=1024)
def _label(locale: str, label: str) -> str:
    """A label in a language, kept: a page of queue cards looks up the same eight 400 times."""
    with i18n.speaking(locale):
        return i18n.translated(label)


STATE_LABELS = Labels(
    [
        ("active", N_("Active")),
        ("waiting", N_("Waiting")),
        ("prioritized", N_("Prioritized")),
        ("delayed", N_("Delayed")),
        ("paused", N_("Paused")),
        ("waiting-children", N_("Waiting children")),
        ("completed", N_("Completed")),
        ("failed", N_("Failed")),
    ]
)
# The order tabs and count chips appear in: the life of a job, left to right.
STATE_ORDER = tuple(STATE_LABELS)


# Babel's words for a time delta depend only on the locale, the unit it picks, the rounded
# count of that unit and the direction: kept by those, a page's 75 times are mostly look-ups.
_RELATIVE: dict[tuple[str, str, int, bool], str] = {}
RELATIVE_KEPT = 4096


def relative_time(ms: int | None, now_ms: int | None = None) -> str:
    """ "5 minutes ago", "vor 5 Minuten", "in 2 hours": Babel's words for the reader's locale."""
    if not ms:
        return ""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    delta = timedelta(seconds=(ms - now_ms) / 1000)
    seconds = delta.total_seconds()
    if abs(seconds) < 1:
        return gettext("just now")
    locale = i18n.current()
    # As Babel's format_timedelta picks the unit and count (threshold 1; a second at least, as
    # "just now" covers less).
    for unit, per_unit in TIMEDELTA_UNITS:
        value = abs(seconds) / per_unit
        if value >= 1 or unit == "second":
            key = (locale, unit, round(value), seconds >= 0)
            break
    said = _RELATIVE.get(key)
    if said is None:
        if len(_RELATIVE) >= RELATIVE_KEPT:
            _RELATIVE.clear()
        said = _RELATIVE[key] = format_timedelta(
            delta, threshold=1, add_direction=True, locale=_babel(locale)
        )
    return said


def absolute_time(ms: int | None) -> str:
    """The time in UTC, written the locale's way, to the second."""
    if not ms:
        return ""
    return _absolute(ms // 1000, i18n.current())


@functools.lru_cache(maxsize=4096)
def _absolute(second: int, locale: str) -> str:
    """Kept: a list shows the same jobs' times render after render (and Babel's formatting of
    one was a fortieth of a 25-row page)."""
    moment = datetime.fromtimestamp(second, UTC)
    return format_datetime(moment, "medium", tzinfo=UTC, locale=_babel(locale)) + " UTC"


@functools.lru_cache(maxsize=32)
def _babel(locale: str) -> Locale:
    """Babel's locale object, parsed once: Babel parses a name again on every call given one,
    and a page of 25 rows writes 50 times."""
    return Locale.parse(locale)


def iso_time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms else ""


def time_tag(ms: int | None) -> Markup:
    """A `<time>` element: ISO datetime, absolute time as its title, relative time as its text.
    One filter call per timestamp instead of three: a list page shows 75 of them. Every part is
    made from a number, so nothing needs escaping."""
    if not ms:
        return Markup("")
    return Markup(
        f'<time datetime="{iso_time(ms)}" title="{absolute_time(ms)}">{relative_time(ms)}</time>'
    )


def duration(ms: int | None) -> str:
    if ms is None or ms < 0:
        return ""
    if ms < 1000:
        return f"{number(ms)} ms"
    if ms < 60_000:
        # Babel's "0.0" pattern, written directly: a page of latencies formatted each render.
        tenths = f"{round(ms / 1000, 1):.1f}"
        return f"{tenths.replace('.', _decimal_symbol(i18n.current()))} s"
    if ms < 3_600_000:
        return f"{ms // 60_000} min {ms % 60_000 // 1000} s"
    return f"{number(ms // 3_600_000)} h {ms % 3_600_000 // 60_000} min"


@functools.lru_cache(maxsize=32)
def _decimal_symbol(locale: str) -> str:
    return get_decimal_symbol(locale)


def size(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            pattern = "#,##0" if unit == "B" else "#,##0.0"
            return f"{format_decimal(value, pattern, locale=i18n.current())} {unit}"
        value /= 1024
    return ""


def number(n: int | float | None) -> str:
    """A count the reader's way: 12,345 (en), 12.345 (de), 12 345 (fr)."""
    return i18n.number(n)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def pretty_cut(value: Any, limit: int) -> str:
    """`value|pretty|cut(limit)` without writing out the whole of a 10 MB value first."""
    return cut(preview_json(value, limit + 1), limit)


def code_spans(text: str) -> Markup:
    """Plain text whose `backticked` parts (commands, settings) are shown as code: the same
    words print as they are in the terminal (`drainboard cost`)."""
    parts = str(escape(text)).split("`")
    return Markup(
        "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))
    )


def cut(text: str | None, limit: int) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[:limit] + "…"


# cron-descriptor's catalog for each of our locales (it has Portugal's Portuguese only).
CRON_LOCALES = {
    "de": "de_DE",
    "es": "es_ES",
    "fr": "fr_FR",
    "pt_BR": "pt_PT",
    "ja": "ja_JP",
    "zh_Hans_CN": "zh_CN",
}


def cron_words(pattern: str | None) -> str:
    """A cron pattern in words ("At 02:00 AM"), or "" when cron-descriptor cannot read it."""
    if not pattern:
        return ""
    locale = CRON_LOCALES.get(i18n.current())
    try:
        if locale is None:
            return get_description(pattern)
        options = Options()
        options.locale_code = locale
        options.use_24hour_time_format = True
        return ExpressionDescriptor(pattern, options).get_description()
    except Exception:  # cron-descriptor raises several kinds; a pattern it cannot read is not ours
        return ""


def bar_segments(counts: dict[str, int]) -> list[tuple[str, float, float]]:
    """(state, x, width) on a 0-1000 axis, for the stacked SVG bar: no inline styles under CSP."""
    total = sum(counts.get(state, 0) for state in STATE_ORDER)
    segments, x = [], 0.0
    for state in STATE_ORDER:
        if counts.get(state) and total:
            width = 1000 * counts[state] / total
            segments.append((state, round(x, 2), round(width, 2)))
            x += width
    return segments


def bar_rects(counts: dict[str, int]) -> Markup:
    """The stacked bar's rectangles. Built here, not in the template: on an overview of 50
    queues, Jinja's escaping of every attribute of every rectangle and count link was most of
    the render."""
    # Safe as it stands: the states are our constants, x and width are numbers.
    return Markup(
        "".join(
            f'<rect class="f-{state}" x="{x}" width="{width}" height="10"/>'
            for state, x, width in bar_segments(counts)
        )
    )


def count_links(counts: dict[str, int], queue_url: str) -> Markup:
    """A queue card's count per state, each a link to that state's list (see bar_rects).

    A <dl> holds only groups of <dt> and <dd>, so the link sits in the <dt> and CSS stretches it
    over the whole tile; the link is a tab stop, so a keyboard opens "Failed 13" as a mouse does.
    """
    href = escape(queue_url)
    # Safe as it stands: the URL is escaped; the states, labels and numbers are ours.
    return Markup(
        "".join(
            f'<div class="count s-{state}{"" if counts[state] else " zero"}" data-state="{state}">'
            f'<dt><a href="{href}?status={state}">{STATE_LABELS[state]}</a></dt>'
            f"<dd>{number(counts[state])}</dd></div>"
            for state in STATE_ORDER
        )
    )


@pass_context
def queue_cards(
    context: Context,
    queues: list[QueueSummary],
    unserved: Container[str],
    due: Mapping[str, int],
    now_ms: int,
    base: str | None = None,
) -> Markup:
    """The overview's queue cards, linking under `base` when given (a connection's group on the
    front page). Built here, not in the template: at 50 cards a page, Jinja's output, escaping
    and url() calls for each card were most of the overview's render (about 1.3 of its 1.9 ms
    of CPU, issue 28's profile at 1,000 queues)."""
    url = context["url"]
    where: Any = context if base is None else {**context.get_all(), "base": base}
    return Markup(
        "".join(
            _queue_card(where, url, q, q.name in unserved, _latency(due.get(q.name), now_ms))
            for q in queues
        )
    )


def _latency(due: int | None, now_ms: int) -> str:
    if due is None:
        return ""
    waited = max(now_ms - due, 0)
    title = escape(gettext("How long the oldest waiting job has waited"))
    shown = escape(gettext("latency %(duration)s") % {"duration": duration(waited)})
    return f'<p class="latency" title="{title}" data-latency-ms="{waited}">{shown}</p>'


def _queue_card(
    context: Mapping[str, Any], url: Any, q: QueueSummary, unserved: bool, latency: str
) -> str:
    name = escape(q.name)
    queue_url = url(context, "queue_page", queue=q.name)
    paused_word = gettext("paused")
    paused = f'<span class="badge paused">{paused_word}</span>' if q.is_paused else ""
    reason = (
        '<p class="reason unserved" data-unserved><strong>'
        + gettext("Nothing will take these jobs:")
        + "</strong> "
        + gettext("no worker is connected and no scheduled drain ran in the last hour.")
        + f' <a href="{escape(url(context, "queue_workers", queue=q.name))}">'
        + gettext("Workers")
        + "</a></p>"
        if unserved
        else ""
    )
    scheduler_count = ngettext("%(count)s scheduler", "%(count)s schedulers", q.schedulers) % {
        "count": number(q.schedulers)
    }
    schedulers = (
        f'<a class="sched-count" href="{escape(url(context, "schedulers_tab", queue=q.name))}"'
        f' data-schedulers="{q.schedulers}">{escape(scheduler_count)}</a>'
        if q.schedulers
        else ""
    )
    jobs = ngettext("%(count)s job", "%(count)s jobs", q.total) % {"count": number(q.total)}
    all_states = gettext("jobs in all states")
    # Safe as it stands: the name and URLs are escaped; the rest is ours or numbers.
    return (
        f'<article class="queue-card" data-queue="{name}"><header>'
        f'<h2><a href="{escape(queue_url)}">{name}</a></h2>{paused}'
        f'<span class="total" title="{escape(all_states)}">{escape(jobs)}'
        "</span></header>"
        '<svg class="bar" viewBox="0 0 1000 10" preserveAspectRatio="none" aria-hidden="true">'
        f'<rect class="track" width="1000" height="10"/>{bar_rects(q.counts)}</svg>'
        f'<dl class="counts">{count_links(q.counts, queue_url)}</dl>{latency}{reason}{schedulers}'
        "</article>\n"
    )


def json_tree(value: Any) -> Markup:
    """Collapsible, escaped HTML for a JSON value, built from <details> so it needs no script."""
    budget = [TREE_NODE_LIMIT]
    html = _tree(value, budget, depth=0)
    if budget[0] < 0:
        return (
            Markup("<pre class='json'>") + escape(pretty_cut(value, VALUE_LIMIT)) + Markup("</pre>")
        )
    return Markup(html)


COMMA = "<span class='p'>,</span>"


def _tree(value: Any, budget: list[int], depth: int, comma: bool = False) -> str:
    """One value; `comma` when a sibling follows. A folder carries its comma inside it, after
    its closing bracket: after the <details> block, the comma would sit alone on a line."""
    budget[0] -= 1
    if isinstance(value, dict):
        last = len(value) - 1
        items = [
            f"<span class='k'>{escape(json.dumps(k, ensure_ascii=False))}</span>: "
            f"{_tree(v, budget, depth + 1, n < last)}"
            for n, (k, v) in enumerate(value.items())
        ]
        label = ngettext("%(count)s key", "%(count)s keys", len(value)) % {
            "count": number(len(value))
        }
        return _fold("{", "}", label, items, depth, comma)
    if isinstance(value, list):
        items = [_tree(v, budget, depth + 1, n < len(value) - 1) for n, v in enumerate(value)]
        label = ngettext("%(count)s item", "%(count)s items", len(value)) % {
            "count": number(len(value))
        }
        return _fold("[", "]", label, items, depth, comma)
    kind = "null" if value is None else type(value).__name__
    text = json.dumps(value, ensure_ascii=False)
    return f"<span class='v {kind}'>{escape(text)}</span>{COMMA if comma else ''}"


def _fold(open_: str, close: str, label: str, items: list[str], depth: int, comma: bool) -> str:
    after = COMMA if comma else ""
    if not items:
        return f"<span class='v'>{open_}{close}</span>{after}"
    state = " open" if depth < 2 else ""
    # Folded, the summary reads `{ 3 keys },`; unfolded, the items and the closing bracket show,
    # and the summary's copy of the comma hides (style.css).
    folded_comma = "<span class='p folded'>,</span>" if comma else ""
    return (
        f"<details{state}><summary>{open_} <span class='n'>{label} {close}</span>{folded_comma}"
        f"</summary><ul>{''.join(f'<li>{item}</li>' for item in items)}</ul>{close}{after}"
        "</details>"
    )


def row_text(msgid: str, /, **params: object) -> Markup:
    """`N_("Open job %(id)s here", id=…)` in a template: what `_()` gives (the message in the
    reader's language, its parameters escaped), without Jinja's context call, which made a
    25-row page's three texts a row a tenth of its render. `make messages` extracts N_ too."""
    return Markup(gettext(msgid)) % params


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    # The templates ship inside the package and do not change while it runs: no stat() of each
    # template file (and of every include) on every render.
    env.auto_reload = False
    # Every page, fragment and notice speaks the request's language (web/middleware/locale.py).
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        relative=relative_time,
        absolute=absolute_time,
        iso=iso_time,
        timetag=time_tag,
        duration=duration,
        size=size,
        number=number,
        pretty=pretty_json,
        pretty_cut=pretty_cut,
        cut=cut,
        json_tree=json_tree,
        queue_cards=queue_cards,
        segment=segment,
        cron_words=cron_words,
        code=code_spans,
        t=i18n.translated,
    )
    env.globals.update(
        N_=row_text,
        STATE_LABELS=STATE_LABELS,
        STATE_ORDER=STATE_ORDER,
        VALUE_LIMIT=VALUE_LIMIT,
        lang=i18n.html_lang,
        current_locale=i18n.current,
        LANGUAGES=i18n.NAMES,
    )
    return templates


# Counts a change notice re-reads on a busy queue: wait, prioritized, active, completed.
TYPICAL_RECOUNT = 4


def render(request: Request, template: str, context: dict[str, Any]) -> Response:
    """A page, with what it cost and, for live pages, what keeping it open costs a month."""
    board = board_of(request)
    commands = commands_spent()
    board.pages_spent.add(commands)
    if "live_queue" in context:
        context["live"] = live_url(
            request, context["live_queue"], context.get("live_job"), context.get("live_among")
        )
        watcher = board.watcher
        # A rate, not the watcher's start-up reads (each page load restarts it): one blocking
        # XREAD per block period, and per change a wake-up XREAD and the counts it touched
        # (typically 4 on a busy queue); only a job page re-reads itself, when its job changes.
        per_minute = 60_000 / watcher.block_ms
        per_change = 1 + TYPICAL_RECOUNT
        if context.get("live_job") is not None:
            per_change += commands
        per_minute += watcher.changes_per_minute(context["live_queue"]) * per_change
        context["open_cost"] = int(per_minute * MINUTES_PER_MONTH)
    several = len(request.app.state.boards) > 1
    context.update(
        switcher=None if template == "login.html" else switcher_for(request, board),
        base=root_of(request.scope),
        **may(request, board),
        # With several Redis connections, the one this page reads (none on the grouped front
        # page), and the front page that shows them all.
        connection=board.connection if several and template != "connections.html" else None,
        front=dashboard_root(request.scope) + "/",
        csrf=request.scope.get("state", {}).get("csrf", ""),
        user=request.scope.get("state", {}).get("user"),
        auth=board.settings.auth_required,
        commands=commands,
    )
    return request.app.state.templates.TemplateResponse(request, template, context)


def may(request: Request, board: Board) -> dict[str, bool]:
    """What the page may offer its reader: `read_only` hides the operator's controls and
    `admin` shows the admin's, judged on the page's queue or, on a page of several, on every
    queue the reader sees (the guard refuses the rest anyway)."""
    access = request.scope.get("state", {}).get("access") or admin("anonymous")
    queue = request.path_params.get("queue")
    names = [path_value(queue)] if queue else board.catalog.cached()
    return {
        "read_only": board.settings.read_only or not access.may_everywhere(Role.OPERATOR, names),
        "admin": not board.settings.read_only and access.may_everywhere(Role.ADMIN, names),
        "started_read_only": board.settings.read_only,
    }


def live_url(
    request: Request, queue: str | None, job_id: str | None, among: list[str] | None = None
) -> str:
    """Where the page listens for changes: every queue (or `among` them: those on screen), one
    queue, or one job of it."""
    query = [("queue", queue), ("job", job_id), *(("on", name) for name in among or ())]
    suffix = urlencode([(k, v) for k, v in query if v is not None])
    return f"{root_of(request.scope)}/live{'?' + suffix if suffix else ''}"
