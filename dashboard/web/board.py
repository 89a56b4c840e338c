"""The per-app bundle of settings and Redis access that every handler receives."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis.asyncio as redis

from dashboard.actions import Actions
from dashboard.config import Settings
from dashboard.discovery import QueueCatalog
from dashboard.drain import DrainEngine
from dashboard.exporter import Exporter
from dashboard.rate import MinuteWindow
from dashboard.reader import Reader
from dashboard.unserved import ServiceCheck
from dashboard.watch import ChangeWatcher
from dashboard.web.sessions import SessionSigner


@dataclass
class Board:
    settings: Settings
    redis: redis.Redis
    reader: Reader
    catalog: QueueCatalog
    actions: Actions
    signer: SessionSigner
    engine: DrainEngine
    watcher: ChangeWatcher
    exporter: Exporter
    service_check: ServiceCheck
    # Commands the pages spent in the last minute (loads and refreshes), for the cost panel.
    pages_spent: MinuteWindow = field(default_factory=MinuteWindow)
