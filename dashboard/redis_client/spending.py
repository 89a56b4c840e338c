"""A running total of the Redis commands this process has sent, by what sent them, for /metrics.

Page footers count per request (`reader.commands_spent`); this keeps the sum since start-up.
"""

from __future__ import annotations

from collections import Counter

SPENT: Counter[str] = Counter()


def spend(source: str, commands: int) -> None:
    SPENT[source] += commands
