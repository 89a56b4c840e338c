"""Kept for `from dashboard.workers import OnDemandWorkers`, as the README shows it.

The code lives in dashboard.drain.workers.
"""

from dashboard.drain.workers import OnDemandWorkers

__all__ = ["OnDemandWorkers"]
