"""Query parameters, checked once: a bad value becomes a 400 that says which and why.

Numbers are parsed here and nowhere else, strictly: ASCII digits only (Python's int() and float()
also take `+1`, `1_0`, `٣` and `²`-adjacent forms, and choke on 5,000 digits), and within bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from dashboard import config
from dashboard.bullmq.keys import STATES
from dashboard.i18n import N_

MAX_PAGE_SIZE = 200
# Jobs per page on the HTML pages.
PAGE_SIZE = 25
# The longest queue-name filter taken (`?q=`); the rest is ignored.
MAX_FILTER = 200
# Redis list and sorted-set indexes are signed 64-bit: no page may start past this.
MAX_INDEX = 2**63 - 1
_DECIMAL = re.compile(r"[0-9]{1,19}(\.[0-9]{1,19})?", re.ASCII)


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, detail=message)


def status(params: QueryParams, default: str) -> str:
    value = params.get("status", default)
    if value not in STATES:
        raise bad_request(
            N_(
                "status must be one of %(states)s; got %(value)s.",
                states=", ".join(STATES),
                value=repr(value),
            )
        )
    return value


def whole_number(raw: str, name: str, minimum: int, maximum: int) -> int:
    """`raw` as an int in [minimum, maximum], written in plain ASCII digits; else a 400."""
    value = config.whole_number(raw, minimum, maximum)
    if value is not None:
        return value
    if not (raw.isascii() and raw.isdigit()):
        raise bad_request(
            N_(
                "%(name)s must be a whole number in digits 0-9; got %(value)s.",
                name=name,
                value=repr(raw[:40]),
            )
        )
    raise bad_request(
        N_("%(name)s must be between %(low)s and %(high)s.", name=name, low=minimum, high=maximum)
    )


def decimal(raw: str, name: str, minimum: float, maximum: float) -> float:
    """`raw` as a float in [minimum, maximum], written as digits with an optional `.fraction`."""
    if not _DECIMAL.fullmatch(raw):
        raise bad_request(
            N_(
                "%(name)s must be a number such as 12 or 0.5; got %(value)s.",
                name=name,
                value=repr(raw[:40]),
            )
        )
    value = float(raw)
    if not minimum <= value <= maximum:
        raise bad_request(
            N_(
                "%(name)s must be between %(low)s and %(high)s.",
                name=name,
                low=format(minimum, "g"),
                high=format(maximum, "g"),
            )
        )
    return value


def required_whole(raw: str | None, name: str, minimum: int, maximum: int) -> int:
    """A number the request must give: blank is refused, never read as 0 (a blank concurrency
    would otherwise remove a limit nobody meant to remove)."""
    if raw is None or not raw.strip():
        raise bad_request(
            N_(
                "%(name)s must be a whole number from %(low)s to %(high)s; it was empty.",
                name=name,
                low=minimum,
                high=maximum,
            )
        )
    return whole_number(raw.strip(), name, minimum, maximum)


def positive_int(params: QueryParams, name: str, default: int, maximum: int = MAX_INDEX) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    return whole_number(raw, name, 1, maximum)


def non_negative_int(params: QueryParams, name: str, default: int, maximum: int = MAX_INDEX) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    return whole_number(raw, name, 0, maximum)


def list_index(params: QueryParams, name: str, default: int) -> int:
    """A Redis list index: digits with an optional leading `-` (from the end), as LRANGE takes."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    negative = raw.startswith("-")
    value = whole_number(raw[1:] if negative else raw, name, 0, MAX_INDEX)
    return -value if negative else value


def paging(params: QueryParams, default_size: int) -> tuple[int, int]:
    page_size = positive_int(params, "pageSize", default_size, MAX_PAGE_SIZE)
    page = positive_int(params, "page", 1, MAX_INDEX // page_size)
    return page, page_size


@dataclass(frozen=True)
class QueueWindow:
    """The queues whose names contain `?q=` (any case), and the page of them to show."""

    name_filter: str
    matching: list[str]
    page: int
    page_count: int
    first: int  # index in `matching` of the first queue shown
    shown: list[str]


def queue_window(params: QueryParams, names: list[str], page_size: int) -> QueueWindow:
    """Filter by `q`, then page by `page`: a page past the last is a 400 naming the last."""
    name_filter = params.get("q", "").strip()[:MAX_FILTER]
    # No filter: every name matches (a thousand casefolds per render saved).
    needle = name_filter.casefold()
    matching = [n for n in names if needle in n.casefold()] if needle else names
    page_count = max(1, -(-len(matching) // page_size))
    page = positive_int(params, "page", 1, page_count)
    first = (page - 1) * page_size
    shown = matching[first : first + page_size]
    return QueueWindow(name_filter, matching, page, page_count, first, shown)
