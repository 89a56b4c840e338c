"""The per-browser settings page: a form that static/settings.js keeps in localStorage."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.web.render import render


async def settings_page(request: Request) -> Response:
    return render(request, "settings.html", {"title": "Settings"})


routes = [Route("/settings", settings_page, name="settings_page")]
