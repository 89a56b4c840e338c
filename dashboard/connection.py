"""Kept for `from dashboard.connection import connect`, as the README shows it.

The code lives in dashboard.redis_client.connection.
"""

from dashboard.redis_client.connection import connect

__all__ = ["connect"]
