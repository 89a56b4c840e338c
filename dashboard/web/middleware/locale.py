"""The language of each answer: the Settings picker's cookie, else Accept-Language, else the
server's default (DRAINBOARD_LOCALE). Outermost of the middleware, so error pages rendered by
any layer below speak the same language as the page that linked to them."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard import i18n


class RequestLocale:
    def __init__(self, app: ASGIApp, default: str = i18n.DEFAULT_LOCALE) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        chosen = cookie_parser(headers.get("cookie", "")).get(i18n.COOKIE)
        locale = i18n.negotiate(headers.get("accept-language"), chosen, self.default)
        scope.setdefault("state", {})["locale"] = locale

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                # Pages and fragments speak the locale; JSON stays English (machine clients).
                if answer.get("content-type", "").startswith("text/html"):
                    answer.setdefault("content-language", i18n.html_lang(locale))
                # A cache must not give one reader's language to another.
                answer.append("vary", "Accept-Language, Cookie")
            await send(message)

        with i18n.speaking(locale):
            await self.app(scope, receive, send_with_language)
