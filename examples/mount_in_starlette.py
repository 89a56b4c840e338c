"""Drainboard inside your own Starlette (or FastAPI) app, behind your app's authentication.

REDIS_URL=redis://localhost:6379 uvicorn examples.mount_in_starlette:app
"""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.config import Settings
from dashboard.web import create_app


class AdminOnly:
    """Stand-in for your app's own auth: only requests with X-Admin: yes get through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"x-admin", b"yes") not in scope["headers"]:
            await PlainTextResponse("admins only", 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def home(request):
    return PlainTextResponse("my app")


# base_path="" because the host app decides where the dashboard lives; links follow the mount.
board = create_app(Settings.from_env(base_path=""))

app = Starlette(
    routes=[
        Route("/", home),
        Mount("/admin/queues", app=board, middleware=[Middleware(AdminOnly)]),
    ]
)
