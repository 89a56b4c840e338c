"""Query parameters, checked once: a bad value becomes a 400 that says which and why."""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from dashboard.keys import STATES

MAX_PAGE_SIZE = 200


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, detail=message)


def status(params: QueryParams, default: str) -> str:
    value = params.get("status", default)
    if value not in STATES:
        raise bad_request(f"status must be one of {', '.join(STATES)}; got {value!r}.")
    return value


def positive_int(params: QueryParams, name: str, default: int, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be a whole number; got {raw!r}.") from None
    if value < 1 or (maximum is not None and value > maximum):
        upper = f" and at most {maximum:,}" if maximum is not None else ""
        raise bad_request(f"{name} must be at least 1{upper}; got {value}.")
    return value


def non_negative_int(params: QueryParams, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise bad_request(f"{name} must be a whole number of at least 0; got {raw!r}.")
    return int(raw)


def paging(params: QueryParams, default_size: int) -> tuple[int, int]:
    page = positive_int(params, "page", 1)
    page_size = positive_int(params, "pageSize", default_size, MAX_PAGE_SIZE)
    return page, page_size
