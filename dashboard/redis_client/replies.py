"""Redis replies as Python values: the one place a number stored as text is read."""

from __future__ import annotations

from typing import overload


@overload
def to_int(raw: object, default: int = 0) -> int: ...
@overload
def to_int(raw: object, default: None) -> int | None: ...
def to_int(raw: object, default: int | None = 0) -> int | None:
    """An integer BullMQ or Redis wrote as text ("42", "1.7e12", b"3"), truncated as Node's
    `parseInt` would; `default` for a missing, empty or unreadable value."""
    value = raw.decode() if isinstance(raw, bytes) else raw
    if isinstance(value, int | float):
        try:
            return int(value)
        except (ValueError, OverflowError):  # NaN, infinity
            return default
    if not isinstance(value, str) or not value:
        return default
    try:
        return int(value)
    except ValueError:
        try:
            return int(float(value))
        except (ValueError, OverflowError):
            return default
