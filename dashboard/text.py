"""Wording shared by the error messages."""

from __future__ import annotations

QUOTE_LIMIT = 80


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` in quotes for an error message, cut to `limit` characters with an ellipsis: an
    error names what it refuses, and what it refuses may be thousands of hostile characters."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")
