"""The app of each process of `drainboard serve --workers N`.

uvicorn starts every worker process afresh and builds its app by importing this factory, so
the parent hands over its settings, already checked and with flags applied, in the environment.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from dashboard.config import Settings
from dashboard.web.app import create_app

SETTINGS_VARIABLE = "DRAINBOARD_SERVE_SETTINGS"


def app() -> Starlette:
    return create_app(Settings.loads(os.environ[SETTINGS_VARIABLE]))
